"""The dbt project as Dagster sees it: where it lives, which target, and its manifest.

Definitions load from a prepared manifest (``target/manifest.json``); production never runs
``dbt parse`` at load time. ``dagster dev`` prepares it on the fly; ``fieldforce up`` and the test
command prepare it before Dagster starts (:func:`prepare_manifest`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from analytics_platform.settings import DBT_PROJECT_DIR


def dbt_target() -> str:
    """The dbt target: ``DBT_TARGET`` or ``snowflake`` in prod, ``local`` otherwise."""
    default = "snowflake" if os.environ.get("ENVIRONMENT") == "prod" else "local"
    return os.environ.get("DBT_TARGET", default)


dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target=dbt_target(),
)
dbt_project.prepare_if_dev()


def prepare_manifest(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """Run ``dbt parse`` so that ``target/manifest.json`` exists and is current."""
    subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "parse", "--quiet"],
        cwd=project_dir,
        check=True,
        env={**os.environ, "DBT_PROFILES_DIR": str(project_dir)},
    )
    return project_dir / "target" / "manifest.json"
