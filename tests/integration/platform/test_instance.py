"""The Dagster instance: local SQLite and the production PostgreSQL variant, same run policy."""

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import yaml
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster_postgres import PostgresRunStorage
from devstack.stack import REPO_ROOT
from standins.sources.postgres import PostgresCluster

LOCAL = REPO_ROOT / "dagster.yaml"
PROD = REPO_ROOT / "deploy" / "dagster.prod.yaml"


@pytest.fixture
def dagster_home() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="dagster-home-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_production_variant_differs_only_where_the_warehouse_does() -> None:
    local, prod = yaml.safe_load(LOCAL.read_text()), yaml.safe_load(PROD.read_text())
    assert (local["run_retries"], local["sensors"]) == (prod["run_retries"], prod["sensors"])
    # The embedded DuckDB warehouse has one writer: locally dbt runs go one at a time ...
    limits = local["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert {"key": "fieldforce/warehouse", "value": "dbt", "limit": 1} in limits
    # ... Snowflake does not: production runs overlap, bounded by concurrency pools.
    assert "tag_concurrency_limits" not in prod["run_coordinator"]["config"]
    assert prod["concurrency"]["pools"]["granularity"] == "run"
    # Production secrets come from the environment, never from the file.
    db = prod["storage"]["postgres"]["postgres_db"]
    assert all(set(value) == {"env"} for name, value in db.items() if name != "scheme"), db


@dg.asset
def probe() -> int:
    return 1


def test_postgres_instance_stores_runs_in_postgresql(
    pg_cluster: PostgresCluster, dagster_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pg_cluster.create_database("dagster_instance")
    shutil.copy(PROD, dagster_home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_PG_HOST", "127.0.0.1")
    monkeypatch.setenv("DAGSTER_PG_PORT", str(pg_cluster.port))
    monkeypatch.setenv("DAGSTER_PG_DB", "dagster_instance")
    monkeypatch.setenv("DAGSTER_PG_USER", "fieldforce")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "unused-with-trust-auth")
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        result = dg.materialize([probe], instance=instance)
        assert result.success
        # The run and its materialization are rows in PostgreSQL, not files under DAGSTER_HOME.
        with psycopg.connect(pg_cluster.dsn("dagster_instance")) as conn:
            runs = conn.execute("select run_id, status from runs").fetchall()
            events = conn.execute(
                "select count(*) from event_logs where dagster_event_type = 'ASSET_MATERIALIZATION'"
            ).fetchone()
        assert runs == [(result.run_id, "SUCCESS")]
        assert events == (1,)
        assert not list(dagster_home.glob("**/*.db"))
    finally:
        instance.dispose()


def test_local_instance_is_sqlite_under_dagster_home(dagster_home: Path) -> None:
    shutil.copy(LOCAL, dagster_home / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert dg.materialize([probe], instance=instance).success
        assert list(dagster_home.glob("**/*.db"))
    finally:
        instance.dispose()
