"""Every row-level incremental equals a full refresh of the same raw data, on DuckDB and on the
Snowflake SQL path (dbt-snowflake against fakesnow): build the first sync, land two more
(``raw_fixture.row_level_syncs``: late rows, updates, a reschedule and a corrected completion
day, soft and hard deletes, duplicate deliveries, a dimension change, a line-item correction,
a GPS ping for a quiet day), each built incrementally, then compare each model's checksum with
a ``--full-refresh`` of it. The customers snapshot, which stages only the customers landed in
the lookback once it exists, is compared with one more snapshot run over every customer (a
lookback of a century): a version the narrowed runs missed would be added by it."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from . import raw_fixture
from .conftest import (
    BOOKKEEPING_COLUMNS,
    DbtProject,
    dbt_env,
    fakesnow_connection,
    load_fakesnow,
    marts_from,
)

INCREMENTAL_MODELS = {
    "int_jobs_enriched": "int_operations.int_jobs_enriched",
    "int_technician_daily_metrics": "int_operations.int_technician_daily_metrics",
    "int_technician_gps_daily": "int_operations.int_technician_gps_daily",
    "int_revenue_daily": "int_finance.int_revenue_daily",
    "int_revenue_by_service": "int_finance.int_revenue_by_service",
    "fct_jobs": "core.fct_jobs",
    "fct_revenue": "finance.fct_revenue",
    "rpt_operations_daily": "operations.rpt_operations_daily",
    "dim_customers": "core.dim_customers",
    "fct_technician_performance": "operations.fct_technician_performance",
}
SNAPSHOT = "snapshots.snap_customers"
EVERY_CUSTOMER = {"lookback_days": 36_500}
"""A lookback of a century: the snapshot stages every landed customer."""
FAKESNOW_DATABASE = "ROW_LEVEL"

Query = Callable[[str], tuple[list[str], list[tuple]]]


def _canonical(value: Any) -> str:
    if isinstance(value, float | decimal.Decimal):
        return f"{float(value):.6f}"
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat()
    return repr(value)


def checksum(run_query: Query, relation: str) -> tuple[int, str]:
    """Row count and an order-independent digest of the relation's business columns."""
    names, rows = run_query(f"select * from {relation}")
    keep = [i for i, name in enumerate(names) if name.lower() not in BOOKKEEPING_COLUMNS]
    lines = sorted("|".join(_canonical(row[i]) for i in keep) for row in rows)
    return len(rows), hashlib.sha256("\n".join(lines).encode()).hexdigest()


def checksums(run_query: Query) -> dict[str, tuple[int, str]]:
    return {
        **{model: checksum(run_query, relation) for model, relation in INCREMENTAL_MODELS.items()},
        "snap_customers": checksum(run_query, SNAPSHOT),
    }


def history(
    project: DbtProject, load: Callable[[raw_fixture.Tables], None], run_query: Query
) -> dict[str, dict[str, tuple[int, str]]]:
    """Checksums after the first build, after the incremental run and after a full refresh."""
    initial = raw_fixture.initial_rows()
    load(initial)
    project.run("build", exclude=["resource_type:test"])
    first = checksums(run_query)
    merged = initial
    for sync in raw_fixture.row_level_syncs():
        merged = raw_fixture.merge(merged, sync)
        load(raw_fixture.duplicate_deliveries(merged))
        project.run("build", exclude=["resource_type:test"])
    incremental = checksums(run_query)
    marts = marts_from(lambda sql: run_query(sql)[1])
    project.run("run", select=list(INCREMENTAL_MODELS), full_refresh=True)
    project.run("snapshot", select=["snap_customers"], vars=EVERY_CUSTOMER)
    return {
        "first": first,
        "incremental": incremental,
        "full_refresh": checksums(run_query),
        "marts": marts,
        "truth": raw_fixture.ground_truth(merged),
    }


def _duckdb_query(warehouse: Path) -> Query:
    def run_query(sql: str) -> tuple[list[str], list[tuple]]:
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            cursor = conn.execute(sql)
            return [d[0] for d in cursor.description], cursor.fetchall()

    return run_query


def _fakesnow_query(port: int) -> Query:
    def run_query(sql: str) -> tuple[list[str], list[tuple]]:
        with fakesnow_connection(port, FAKESNOW_DATABASE) as conn:
            cursor = conn.cursor().execute(sql)
            return [d[0] for d in cursor.description], cursor.fetchall()

    return run_query


@pytest.fixture(scope="module", params=["duckdb", "snowflake_local"])
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp(f"row_level_{request.param}")
    if request.param == "duckdb":
        warehouse = workdir / "warehouse.duckdb"
        project = DbtProject(
            workdir, dbt_env(FIELDFORCE_WAREHOUSE_PATH=str(warehouse), DBT_TARGET="local")
        )
        yield history(
            project,
            lambda tables: raw_fixture.load_duckdb(str(warehouse), tables),
            _duckdb_query(warehouse),
        )
        return
    port: int = request.getfixturevalue("fakesnow_port")
    project = DbtProject(
        workdir,
        dbt_env(
            DBT_TARGET="snowflake_local",
            FAKESNOW_PORT=str(port),
            SNOWFLAKE_DATABASE=FAKESNOW_DATABASE,
        ),
    )
    yield history(
        project,
        lambda tables: load_fakesnow(port, tables, FAKESNOW_DATABASE),
        _fakesnow_query(port),
    )


@pytest.mark.parametrize("model", [*INCREMENTAL_MODELS, "snap_customers"])
def test_incremental_run_equals_full_refresh(runs: dict[str, Any], model: str) -> None:
    # the change set reaches the model, so equal checksums are not a no-op's
    assert runs["incremental"][model] != runs["first"][model]
    assert runs["incremental"][model] == runs["full_refresh"][model]


def test_incremental_marts_reconcile_to_the_sources(runs: dict[str, Any]) -> None:
    assert runs["marts"] == runs["truth"]
