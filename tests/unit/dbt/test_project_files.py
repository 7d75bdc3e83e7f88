"""Static checks of dbt_fieldforce against the catalog and the house rules (no warehouse)."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from standins.sources import catalog

from tests.integration.dbt import raw_fixture

PROJECT = Path(__file__).resolve().parents[3] / "dbt_fieldforce"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def source_files() -> dict[str, dict[str, Any]]:
    sources = {}
    for path in PROJECT.glob("models/staging/*/_*__sources.yml"):
        for source in load_yaml(path)["sources"]:
            sources[source["name"]] = source
    return sources


def test_seed_regions_match_catalog() -> None:
    with (PROJECT / "seeds" / "seed_regions.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [
        (
            int(r["region_id"]),
            r["region_name"],
            r["time_zone"],
            tuple(r["state_codes"].split("|")),
            float(r["center_lat"]),
            float(r["center_lon"]),
        )
        for r in rows
    ] == [
        (r.region_id, r.region_name, r.time_zone, r.state_codes, r.center_lat, r.center_lon)
        for r in catalog.REGIONS
    ]


def test_seed_service_categories_cover_catalog() -> None:
    with (PROJECT / "seeds" / "seed_service_categories.csv").open() as f:
        categories = {r["category"] for r in csv.DictReader(f)}
    assert categories == {category for _, category, _, _ in catalog.SERVICE_CATALOG}


def test_every_landed_table_and_column_is_a_source_with_lineage_and_freshness() -> None:
    sources = source_files()
    disabled = raw_fixture.disabled_tables()
    for system in catalog.SYSTEMS:
        name = (
            "fivetran_postgres" if system.name == "jobs_db" else catalog.landing_schema(system.name)
        )
        source = sources[name]
        assert source["loaded_at_field"] == "_fivetran_synced"
        assert {"warn_after", "error_after"} <= source["freshness"].keys()
        asset_schema = (
            catalog.landing_schema("jobs_db", catalog.DEFAULT_TENANTS[0])
            if system.name == "jobs_db"
            else name
        )
        tables = {t["name"]: t for t in source["tables"]}
        landed_tables = [t for t in system.tables if (system.name, t.name) not in disabled]
        assert set(tables) == {catalog.destination_name(t.name) for t in landed_tables}
        for table in landed_tables:
            landed = catalog.destination_name(table.name)
            assert tables[landed]["meta"] == {
                "dagster": {"asset_key": ["fivetran", asset_schema, landed]}
            }
            documented = {c["name"] for c in tables[landed]["columns"]}
            assert {catalog.destination_name(c.name) for c in table.columns} <= documented
    metadata = {t["name"] for t in sources["fivetran_metadata"]["tables"]}
    assert metadata == {"connection", "log", "incremental_mar"}


def freshness_minutes(spec: dict[str, Any]) -> int:
    return spec["count"] * {"minute": 1, "hour": 60, "day": 1440}[spec["period"]]


def test_freshness_follows_the_sdd() -> None:
    sources = source_files()
    jobs = sources["fivetran_postgres"]["freshness"]
    assert (freshness_minutes(jobs["warn_after"]), freshness_minutes(jobs["error_after"])) == (
        30,
        60,
    )
    # everyone else: warn at 2x, error at 4x the connector's cadence (the design's data sources)
    cadence = {
        "fivetran_salesforce": 60,
        "fivetran_quickbooks": 360,
        "fivetran_servicetitan": 30,
        "fivetran_telematics": 60,
        "fivetran_sheets": 1440,
    }
    for name, minutes in cadence.items():
        spec = sources[name]["freshness"]
        assert freshness_minutes(spec["warn_after"]) == 2 * minutes, name
        assert freshness_minutes(spec["error_after"]) == 4 * minutes, name


def test_materializations_by_folder() -> None:
    models = load_yaml(PROJECT / "dbt_project.yml")["models"]["dbt_fieldforce"]
    assert models["staging"]["+materialized"] == "view"
    assert models["intermediate"]["+materialized"] == "table"
    assert models["marts"]["+materialized"] == "table"
    for name in ("fct_jobs", "fct_revenue", "int_technician_daily_metrics"):
        sql = next(PROJECT.glob(f"models/**/{name}.sql")).read_text()
        assert "materialized='incremental'" in sql
        assert "on_schema_change='sync_all_columns'" in sql


def test_profiles_read_the_environment_only() -> None:
    profile = load_yaml(PROJECT / "profiles.yml")["dbt_fieldforce"]
    outputs = profile["outputs"]
    assert set(outputs) == {"local", "ci", "snowflake", "snowflake_local"}
    assert outputs["local"]["type"] == outputs["ci"]["type"] == "duckdb"
    assert "DBT_CI_SCHEMA" in outputs["ci"]["schema"]
    for key in ("account", "user", "password", "private_key_path", "role", "warehouse", "database"):
        assert "env_var(" in str(outputs["snowflake"][key]), key
    local = outputs["snowflake_local"]
    assert (local["account"], local["host"], local["protocol"]) == ("fakesnow", "127.0.0.1", "http")


def test_every_model_has_a_yml_entry_and_sql_follows_the_layout() -> None:
    documented = set()
    for path in PROJECT.glob("models/**/_*.yml"):
        documented |= {m["name"] for m in (load_yaml(path) or {}).get("models", [])}
    for path in PROJECT.glob("models/**/*.sql"):
        assert path.stem in documented, f"{path.stem} has no entry in a _*.yml"
        sql = path.read_text()
        assert re.search(r"^select \* from final$", sql, re.M), f"{path.name}: no final CTE"


@pytest.fixture(scope="module")
def slim_ci() -> ModuleType:
    spec = importlib.util.spec_from_file_location("slim_ci", PROJECT / "scripts" / "slim_ci.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_slim_ci_steps(slim_ci: ModuleType) -> None:
    steps = slim_ci.build_commands(PROJECT, Path("/state"), "ci", None)
    assert [s[1:3] for s in steps] == [
        ["compile", "--project-dir"],
        ["build", "--project-dir"],
        ["docs", "generate"],
    ]
    build = steps[1]
    assert build[build.index("--select") + 1] == "state:modified+"
    assert "--defer" in build and build[build.index("--state") + 1] == "/state"
    assert build[build.index("--target") + 1] == "ci"
    assert slim_ci.lint_command([PROJECT / "models"])[1] == "lint"


def test_slim_ci_lints_the_models_changed_against_production(
    slim_ci: ModuleType, tmp_path: Path
) -> None:
    (tmp_path / "models" / "core").mkdir(parents=True)
    (tmp_path / "models" / "core" / "same.sql").write_text("select 1 as a\n")
    (tmp_path / "models" / "core" / "changed.sql").write_text("select 2 as a\n")
    (tmp_path / "models" / "core" / "new.sql").write_text("select 3 as a\n")

    def node(path: str, body: str) -> dict[str, Any]:
        digest = hashlib.sha256(body.strip().encode()).hexdigest()
        return {
            "resource_type": "model",
            "original_file_path": path,
            "checksum": {"checksum": digest},
        }

    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "nodes": {
                    "a": node("models/core/same.sql", "select 1 as a\n"),
                    "b": node("models/core/changed.sql", "select 1 as a"),
                }
            }
        )
    )
    changed = slim_ci.modified_model_files(tmp_path, manifest)
    assert [p.name for p in changed] == ["changed.sql", "new.sql"]
