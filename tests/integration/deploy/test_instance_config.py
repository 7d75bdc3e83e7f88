"""The production instance, validated by Dagster itself (with dagster-k8s), and its run policy.

Loading the instance would connect to its PostgreSQL; validating it does not. Dagster reads the
file as it does at start-up (``dagster_instance_config``: the instance schema and the
concurrency rules), turns each configurable class into its class data (``InstanceRef``) and
checks that data against the class's own config schema, resolving the ``env:`` values from an
environment of dummy values: storage (dagster-postgres), run launcher (dagster-k8s), run
coordinator. The Helm values must render the same policy.
"""

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster._config import process_config
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef
from dagster_k8s import K8sRunLauncher
from devstack.stack import REPO_ROOT

PROD = REPO_ROOT / "deploy" / "dagster.prod.yaml"
LOCAL = REPO_ROOT / "dagster.yaml"
VALUES = REPO_ROOT / "deploy" / "helm" / "values.yaml"
ENVIRONMENT = {
    "DAGSTER_PG_HOST": "dagster-postgres.example.internal",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_DB": "dagster",
    "DAGSTER_PG_USER": "dagster",
    "DAGSTER_PG_PASSWORD": "dummy-password",
    "DAGSTER_HOME": "/opt/dagster/dagster_home",
    "DAGSTER_K8S_INSTANCE_CONFIG_MAP": "dagster-instance",
    "DAGSTER_K8S_PG_PASSWORD_SECRET": "dagster-postgresql-secret",
    "DAGSTER_K8S_JOB_NAMESPACE": "fieldforce",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    yield


def validate_instance(text: str, home: Path) -> dict[str, Any]:
    """Validate an instance yaml as Dagster does; return each class's resolved config.

    Raises:
        DagsterInvalidConfigError: The file or one of its classes' config is invalid.
    """
    (home / "dagster.yaml").write_text(text)
    dagster_instance_config(str(home))
    ref = InstanceRef.from_dir(str(home))
    resolved: dict[str, Any] = {}
    for name in ("storage_data", "run_launcher_data", "run_coordinator_data"):
        data = getattr(ref, name)
        klass = getattr(importlib.import_module(data.module_name), data.class_name)
        result = process_config(klass.config_type(), data.config_dict)
        if not result.success:
            raise DagsterInvalidConfigError(
                f"invalid config for {data.class_name}", result.errors, data.config_dict
            )
        resolved[data.class_name] = result.value
    return resolved


def test_dagster_validates_the_production_instance(environment: None, tmp_path: Path) -> None:
    resolved = validate_instance(PROD.read_text(), tmp_path)

    assert set(resolved) == {"DagsterPostgresStorage", "K8sRunLauncher", "QueuedRunCoordinator"}
    launcher = resolved["K8sRunLauncher"]
    assert K8sRunLauncher.__module__.startswith("dagster_k8s")
    assert launcher["job_namespace"] == "fieldforce"
    assert launcher["env_secrets"] == ["fieldforce-secrets"]
    assert launcher["env_config_maps"] == ["fieldforce-config"]
    db = resolved["DagsterPostgresStorage"]["postgres_db"]
    assert db["password"] == "dummy-password"  # resolved from the environment, not the file
    assert "dummy-password" not in PROD.read_text()


BREAKAGES = {
    "unknown pool granularity": ("granularity: run", "granularity: sometimes"),
    "queue limits twice": (
        "    dequeue_interval_seconds: 1\n",
        "    dequeue_interval_seconds: 1\n    max_concurrent_runs: 4\n",
    ),
    "misspelt launcher field": ("    load_incluster_config: true", "    load_in_cluster: true"),
    "retries not a number": ("  max_retries: 2", "  max_retries: twice"),
    "unset secret variable": ("env: DAGSTER_PG_PASSWORD", "env: DAGSTER_PG_PASSWORD_UNSET"),
}


@pytest.mark.parametrize(("old", "new"), BREAKAGES.values(), ids=list(BREAKAGES))
def test_dagster_rejects_a_broken_copy(
    environment: None, tmp_path: Path, old: str, new: str
) -> None:
    text = PROD.read_text()
    assert old in text

    with pytest.raises(DagsterInvalidConfigError):
        validate_instance(text.replace(old, new, 1), tmp_path)


def test_on_snowflake_runs_overlap_and_one_mechanism_retries() -> None:
    prod, local = yaml.safe_load(PROD.read_text()), yaml.safe_load(LOCAL.read_text())

    # The embedded warehouse keeps its single writer locally ...
    local_limits = local["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert {"key": "fieldforce/warehouse", "value": "dbt", "limit": 1} in local_limits
    # ... which Snowflake does not need: no one-run-at-a-time limit, pools instead.
    assert "tag_concurrency_limits" not in prod["run_coordinator"]["config"]
    assert "fieldforce/warehouse" not in PROD.read_text().split("run_coordinator:")[1]
    assert prod["concurrency"]["runs"]["max_concurrent_runs"] > 1
    assert prod["concurrency"]["pools"] == {"granularity": "run", "default_limit": 1}
    # One retry mechanism per cause: step failures are the step's (transient) or the planner's
    # (a failed model) to retry, runs are re-run only when they fail for another reason (a lost pod).
    assert prod["run_retries"] == {
        "enabled": True,
        "max_retries": 2,
        "retry_on_asset_or_op_failure": False,
    }
    assert prod["run_monitoring"]["enabled"] is True
    # Production secrets come from the environment, never from the file.
    db = prod["storage"]["postgres"]["postgres_db"]
    assert all(set(value) == {"env"} for name, value in db.items() if name != "scheme"), db


def _chart_instance(values: dict[str, Any]) -> dict[str, Any]:
    """The parts of the instance the chart renders from ``values`` (its templates' mapping)."""
    daemon = values["dagsterDaemon"]
    retries, monitoring = daemon["runRetries"], daemon["runMonitoring"]
    queued = daemon["runCoordinator"]["config"]["queuedRunCoordinator"]
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    concurrency = values["concurrency"]
    return {
        "run_launcher": (values["runLauncher"]["type"], launcher["loadInclusterConfig"]),
        "env_config_maps": [item["name"] for item in launcher["envConfigMaps"]],
        "env_secrets": [item["name"] for item in launcher["envSecrets"]],
        "image_pull_policy": launcher["imagePullPolicy"],
        "run_coordinator": (daemon["runCoordinator"]["type"], queued),
        "run_retries": {
            "enabled": retries["enabled"],
            "max_retries": retries["maxRetries"],
            "retry_on_asset_or_op_failure": retries["retryOnAssetOrOpFailure"],
        },
        "run_monitoring": {
            "enabled": monitoring["enabled"],
            "start_timeout_seconds": monitoring["startTimeoutSeconds"],
            "poll_interval_seconds": monitoring["pollIntervalSeconds"],
        },
        "concurrency": concurrency["enabled"]
        and {
            "runs": {"max_concurrent_runs": concurrency["runs"]["maxConcurrentRuns"]},
            "pools": {
                "granularity": concurrency["pools"]["granularity"],
                "default_limit": concurrency["pools"]["defaultLimit"],
            },
        },
        "sensors": {
            "use_threads": daemon["sensors"]["useThreads"],
            "num_workers": daemon["sensors"]["numWorkers"],
        },
        "scheme": values["postgresql"]["postgresqlScheme"],
        "telemetry": values["telemetry"],
    }


def _file_instance(prod: dict[str, Any]) -> dict[str, Any]:
    launcher = prod["run_launcher"]["config"]
    queued = prod["run_coordinator"]["config"]
    return {
        "run_launcher": (prod["run_launcher"]["class"], launcher["load_incluster_config"]),
        "env_config_maps": launcher["env_config_maps"],
        "env_secrets": launcher["env_secrets"],
        "image_pull_policy": launcher["image_pull_policy"],
        "run_coordinator": (
            prod["run_coordinator"]["class"],
            {
                "dequeueIntervalSeconds": queued["dequeue_interval_seconds"],
                "dequeueUseThreads": queued["dequeue_use_threads"],
                "dequeueNumWorkers": queued["dequeue_num_workers"],
            },
        ),
        "run_retries": prod["run_retries"],
        "run_monitoring": prod["run_monitoring"],
        "concurrency": prod["concurrency"],
        "sensors": prod["sensors"],
        "scheme": prod["storage"]["postgres"]["postgres_db"]["scheme"],
        "telemetry": prod["telemetry"],
    }


def test_the_helm_values_render_the_production_instance() -> None:
    values = yaml.safe_load(VALUES.read_text())
    prod = yaml.safe_load(PROD.read_text())

    assert _chart_instance(values) == _file_instance(prod)
    # The code location runs as a user deployment, its runs with its configuration.
    [location] = values["dagster-user-deployments"]["deployments"]
    assert location["dagsterApiGrpcArgs"] == ["--module-name", "analytics_platform.definitions"]
    assert location["includeConfigInLaunchedRuns"] == {"enabled": True}
    assert [item["name"] for item in location["envSecrets"]] == ["fieldforce-secrets"]
    # An external PostgreSQL whose password is a pre-created Secret, not a chart value.
    assert values["postgresql"]["enabled"] is False
    assert "postgresqlPassword" not in values["postgresql"]
    assert values["generatePostgresqlPasswordSecret"] is False
