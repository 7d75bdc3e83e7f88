"""The webhook receiver's manifests: valid Kubernetes objects, secrets only by reference."""

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from devstack.stack import REPO_ROOT

from analytics_platform.alerts.incidents import SECRET_ENV_VARS

K8S = REPO_ROOT / "deploy" / "k8s"
RECEIVER = K8S / "webhook-receiver.yaml"
VERSION = kubernetes_validate.latest_version()


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def validate(path: Path) -> None:
    for document in documents(path):
        kubernetes_validate.validate(document, VERSION, strict=True)


@pytest.mark.parametrize("path", sorted(K8S.glob("*.yaml")), ids=lambda path: path.name)
def test_manifests_are_valid_kubernetes_objects(path: Path) -> None:
    validate(path)


def test_the_receiver_is_a_deployment_and_a_service() -> None:
    kinds = {doc["kind"]: doc for doc in documents(RECEIVER)}
    assert {"Deployment", "Service"} <= set(kinds)
    deployment, service = kinds["Deployment"], kinds["Service"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "analytics_platform.ingest.webhook"]
    assert deployment["spec"]["replicas"] == 1


def _env_values(node: Any) -> list[dict[str, Any]]:
    """Every ``env`` entry of every container in ``node``, wherever it sits."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "env" and isinstance(value, list):
                found.extend(value)
            else:
                found.extend(_env_values(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_env_values(item))
    return found


def test_secrets_come_from_kubernetes_secrets_only() -> None:
    docs = [doc for path in sorted(K8S.glob("*.yaml")) for doc in documents(path)]
    assert not [doc for doc in docs if doc["kind"] == "Secret"]  # created from the environment
    env = _env_values(docs)
    secret_names = {entry["name"] for entry in env if entry["name"] in SECRET_ENV_VARS}
    assert {"FIVETRAN_API_KEY", "FIVETRAN_API_SECRET", "FIVETRAN_WEBHOOK_SECRET"} <= secret_names
    for entry in env:
        if entry["name"] in SECRET_ENV_VARS:
            assert "value" not in entry, entry
            assert entry["valueFrom"]["secretKeyRef"]["name"] == "fieldforce-secrets"
    for doc in docs:
        if doc["kind"] == "ConfigMap":
            assert not set(doc["data"]) & set(SECRET_ENV_VARS)


@pytest.mark.parametrize(
    ("path", "breakage"),
    [
        # A port that is not a number.
        (RECEIVER, ("containerPort: 8000", "containerPort: eight-thousand")),
        # A Deployment without its selector.
        (RECEIVER, ("  selector:\n    matchLabels:", "  selectr:\n    matchLabels:")),
        # A misspelt field, refused by strict validation.
        (RECEIVER, ("secretKeyRef:", "secretKeyReference:")),
        # A ConfigMap value that is not a string.
        (K8S / "config.yaml", ("ENVIRONMENT: prod", "ENVIRONMENT: [prod]")),
    ],
)
def test_kubernetes_validate_rejects_a_broken_copy(
    tmp_path: Path, path: Path, breakage: tuple[str, str]
) -> None:
    old, new = breakage
    text = path.read_text()
    assert old in text
    broken = tmp_path / path.name
    broken.write_text(text.replace(old, new, 1))

    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken)
