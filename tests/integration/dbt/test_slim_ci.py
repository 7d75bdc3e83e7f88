"""Slim CI (dbt_fieldforce/scripts/slim_ci.py) against a stored production manifest with one
modified model: lint, compile, build of state:modified+ deferred to production, docs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .conftest import PROJECT_DIR, DbtProject, query


def test_slim_ci_builds_only_the_modified_model_and_children(
    initial_build: dict[str, Any], duckdb_project: tuple[DbtProject, Path], tmp_path: Path
) -> None:
    project, warehouse = duckdb_project
    state = tmp_path / "prod_state"
    state.mkdir()
    shutil.copy(project.workdir / "target" / "manifest.json", state / "manifest.json")

    checkout = tmp_path / "dbt_fieldforce"
    shutil.copytree(
        PROJECT_DIR, checkout, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    model = checkout / "models" / "marts" / "core" / "dim_services.sql"
    model.write_text(
        model.read_text().replace(
            "        service_types.service_name,\n",
            "        service_types.service_name,\n        lower(service_types.service_name) as service_slug,\n",
            1,
        )
    )

    target_path = tmp_path / "target"
    result = subprocess.run(
        [
            sys.executable,
            str(PROJECT_DIR / "scripts" / "slim_ci.py"),
            "--state",
            str(state),
            "--project-dir",
            str(checkout),
            "--target-path",
            str(target_path),
        ],
        env={**project.env, "DBT_CI_SCHEMA": "pr42"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "sqlfluff lint" in result.stdout and "All Finished" in result.stdout

    ci_tables = {
        (schema, table)
        for schema, table in query(
            warehouse,
            "select table_schema, table_name from information_schema.tables where table_schema like 'ci_pr42_%'",
        )
    }
    # the modified model was built in the CI schema; its unmodified parents and siblings were not
    assert ("ci_pr42_core", "dim_services") in ci_tables
    assert not any(
        table in {"fct_jobs", "int_jobs_enriched", "stg_jobs__service_types"}
        for _, table in ci_tables
    )
    assert query(
        warehouse, "select count(*) from ci_pr42_core.dim_services where service_slug is not null"
    ) == [(4,)]
    assert (target_path / "catalog.json").is_file() and (target_path / "index.html").is_file()
