"""The production wheel ships the code location alone and imports nothing of the local world.

The wheel is built as a deployment builds it, installed into a fresh virtual environment that
holds only the production dependencies (``uv export --no-dev`` of the lock, no workspace
members), and the code location is loaded there from outside the repository, so neither the
repository root nor the ``local/`` workspace member is on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from testkit.stack import API_KEY, API_SECRET, Stack

REPO = Path(__file__).resolve().parents[3]
LOCAL_PACKAGES = ("standins", "devstack", "testkit")


def _uv() -> str:
    found = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    if not Path(found).exists():
        pytest.fail("uv is not installed: ./fieldforce installs it before the suite runs")
    return found


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([_uv(), "build", "--wheel", "--offline", "--out-dir", str(out), str(REPO)], cwd=REPO)
    (built,) = out.glob("fieldforce_analytics_platform-*.whl")
    return built


def test_the_wheel_holds_only_the_code_location(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/", 1)[0] for name in names}
    assert "analytics_platform" in top
    assert {t for t in top if not t.endswith(".dist-info")} == {"analytics_platform"}, top
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [
        line.split(":", 1)[1].strip()
        for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist:")
    ]
    assert not [r for r in requires if r.startswith(("fieldforce-local", "fakesnow", "pytest"))]
    # No console script: `fieldforce` is the dev stack's, shipped by the local member.
    assert not [n for n in names if n.endswith("entry_points.txt")], names


def test_the_code_location_loads_with_production_dependencies_only(
    wheel: Path, tmp_path: Path, shared_stack: Stack
) -> None:
    uv = _uv()
    venv = tmp_path / "venv"
    # The lock's production closure only (no dev group, no workspace member), from uv's cache
    # as `./fieldforce` filled it; then the built wheel itself, not the checkout.
    _run(
        [
            uv,
            "sync",
            "--frozen",
            "--offline",
            "--quiet",
            "--no-dev",
            "--no-install-project",
            "--package",
            "fieldforce-analytics-platform",
            "--python",
            sys.executable,
        ],
        cwd=REPO,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)},
    )
    python = venv / "bin" / "python"
    _run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--offline",
            "--no-deps",
            "--python",
            str(python),
            str(wheel),
        ],
        cwd=tmp_path,
    )
    installed = _run([uv, "pip", "freeze", "--python", str(python)], cwd=tmp_path)
    assert not [
        line
        for line in installed.splitlines()
        if line.startswith(("fakesnow", "pytest", "fieldforce-local"))
    ], installed
    probe = (
        "import importlib.util, json, sys\n"
        "import analytics_platform.definitions as d\n"
        "keys = d.defs.resolve_asset_graph().get_all_asset_keys()\n"
        f"local = {LOCAL_PACKAGES!r}\n"
        "print(json.dumps({\n"
        "  'assets': len(keys),\n"
        "  'file': d.__file__,\n"
        "  'loaded_local': sorted(m for m in sys.modules if m.split('.')[0] in local),\n"
        "  'findable_local': [p for p in local if importlib.util.find_spec(p)],\n"
        "}))\n"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VIRTUAL_ENV", "PYTHONPATH", "UV_"))
    }
    # A deployment's settings: the connector tables come from a Fivetran account (here the
    # local one, reached by URL only); the dbt project and the alerting policy are deployed
    # beside the wheel.
    env |= {
        "ENVIRONMENT": "local",
        "FIVETRAN_API_BASE_URL": shared_stack.api_url,
        "FIVETRAN_API_KEY": API_KEY,
        "FIVETRAN_API_SECRET": API_SECRET,
        "FIELDFORCE_WAREHOUSE_PATH": str(shared_stack.warehouse),
        "FIELDFORCE_DBT_PROJECT_DIR": str(REPO / "dbt_fieldforce"),
        "FIELDFORCE_ALERTING_CONFIG": str(REPO / "alerting.yaml"),
    }
    out = _run([str(python), "-c", probe], cwd=tmp_path, env=env)
    report = json.loads(out.strip().splitlines()[-1])
    assert str(venv) in report["file"], report
    assert report["loaded_local"] == [], report
    assert report["findable_local"] == [], report
    assert report["assets"] > 50, report
