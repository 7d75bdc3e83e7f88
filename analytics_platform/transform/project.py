"""The dbt project as Dagster sees it: where it lives, which target, and its manifest.

Definitions load from a prepared manifest (``target/manifest.json``); production never runs
``dbt parse`` at load time. ``dagster dev`` prepares it on the fly; ``fieldforce up`` and the test
command prepare it before Dagster starts (:func:`prepare_manifest`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dagster_dbt import DbtProject

from analytics_platform.settings import DBT_PROJECT_DIR
from analytics_platform.transform.invocation import VENV_DBT, run_dbt

__all__ = ["VENV_DBT", "dbt_project", "dbt_target", "prepare_manifest"]


def dbt_target(env: Mapping[str, str] | None = None) -> str:
    """The dbt target: ``DBT_TARGET`` or ``snowflake`` in prod, ``local`` otherwise."""
    environ = os.environ if env is None else env
    default = "snowflake" if environ.get("ENVIRONMENT") == "prod" else "local"
    return environ.get("DBT_TARGET") or default


dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target=dbt_target(),
)
dbt_project.prepare_if_dev()


def prepare_manifest(
    project_dir: Path = DBT_PROJECT_DIR, env: Mapping[str, str] | None = None
) -> Path:
    """Run ``dbt parse`` so that ``target/manifest.json`` exists and is current.

    It parses exactly as runs invoke dbt (``--target <target>``, as dagster-dbt passes it).
    dbt keys its partial-parse state on the CLI's target, so a parse without the flag would
    leave every run to re-parse the whole project, the slowest part of a small run.

    Args:
        project_dir: the dbt project.
        env: the environment the runs will have (default: this process's).

    Returns:
        The manifest's path.

    Raises:
        DbtError: dbt could not parse the project (a RuntimeError ending with its output).
    """
    environ = dict(os.environ if env is None else env)
    run_dbt(
        "parse",
        quiet=True,
        target=dbt_target(environ),
        project_dir=project_dir,
        env=environ,
        cwd=project_dir,
    )
    return project_dir / "target" / "manifest.json"
