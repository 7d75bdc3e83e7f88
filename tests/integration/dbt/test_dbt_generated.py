"""The correctness proof on generated data: the source estate (standins.sources) synced by the
local Fivetran (standins.fivetran), then dbt. The marts equal the generator's ground truth
(revenue per UTC day and region to the cent, jobs per scheduled day and status, active
technicians per day) after the historical sync and again after a change set (late rows,
updates, soft and hard deletes, duplicate GPS events) synced and built incrementally; and a
full refresh and a window-by-window rebuild give the incremental history's exact checksums."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from standins.sources.estate import Estate
from testkit.builder import Stack, synced_estate

from .conftest import (
    FACT_MODELS,
    FACT_RELATIONS,
    ROW_LEVEL_MODELS,
    ROW_LEVEL_RELATIONS,
    DbtProject,
    dbt_env,
    fact_checksums,
    mart_results,
    query,
)


def sync_all(stack: Stack) -> None:
    for entry in stack.sync():
        assert entry["status"] == "SUCCESSFUL", entry


def truth_as_marts(truth: dict[str, list[dict[str, Any]]]) -> dict[str, dict[tuple, Any]]:
    """The generator's ground truth keyed like ``conftest.mart_results``."""

    def day(text: str) -> dt.date:
        return dt.date.fromisoformat(text)

    return {
        "revenue_cents": {
            (day(r["date"]), r["region_id"]): r["revenue_cents"]
            for r in truth["revenue_by_day_region"]
        },
        "jobs_by_status": {
            (day(r["date"]), r["status"]): r["jobs"] for r in truth["jobs_by_scheduled_day_status"]
        },
        "active_technicians": {
            (day(r["date"]),): r["active_technicians"] for r in truth["active_technicians_by_day"]
        },
    }


MAX_CHANGE_STEPS = 6
"""Three-hour steps of the change stream at most (a step lacks a hard delete ~3 % of the time)."""


def landed_deletions(warehouse: Path) -> bool:
    """Whether the landed Jobs DB tables hold a hard-deleted job and a soft-deleted customer."""
    counts = {"jobs": 0, "customers": 0}
    predicate = {"jobs": "_fivetran_deleted", "customers": "deleted_at is not null"}
    for schema, table in query(
        warehouse,
        "select table_schema, table_name from information_schema.tables"
        " where table_schema like 'fivetran_postgres_%' and table_name in ('jobs', 'customers')",
    ):
        sql = f'select count(*) from "{schema}"."{table}" where {predicate[table]}'
        counts[table] += query(warehouse, sql)[0][0]
    return all(counts.values())


@pytest.fixture(scope="module")
def generated() -> Iterator[tuple[Estate, Stack, DbtProject, Path]]:
    with synced_estate("dbt-generated-") as stack:
        assert stack.root is not None
        project = DbtProject(
            stack.root / "dbt",
            dbt_env(FIELDFORCE_WAREHOUSE_PATH=str(stack.warehouse), DBT_TARGET="local"),
        )
        yield stack.estate, stack, project, stack.warehouse


def test_generated_marts_match_ground_truth_through_changes_and_rebuilds(
    generated: tuple[Estate, Stack, DbtProject, Path],
) -> None:
    estate, stack, project, warehouse = generated

    project.run("build")
    assert mart_results(warehouse) == truth_as_marts(estate.ground_truth())

    # a change set: the estate's change stream in three-hour steps, each synced, until it holds
    # what the incremental path must handle (rare events are Poisson draws seeded by the clock,
    # so one step alone holds a hard delete only most of the time)
    for _ in range(MAX_CHANGE_STEPS):
        estate.advance(180)
        sync_all(stack)
        if landed_deletions(warehouse):
            break
    project.run("build")
    # the change set held what the incremental path must handle
    assert query(warehouse, "select count(*) from stg_jobs.stg_jobs__job_deletions")[0][0] > 0
    assert query(warehouse, "select count(*) from core.dim_customers where is_deleted")[0][0] > 0
    (rows, events) = query(
        warehouse, "select count(*), count(distinct event_id) from fivetran_telematics.gps_events"
    )[0]
    assert rows > events  # duplicate deliveries landed, and staging dropped them:
    assert query(warehouse, "select count(*) from stg_telematics.stg_telematics__gps_events") == [
        (events,)
    ]
    assert mart_results(warehouse) == truth_as_marts(estate.ground_truth())
    incremental = fact_checksums(warehouse)
    row_level = fact_checksums(warehouse, ROW_LEVEL_RELATIONS)

    project.run("run", select=[*FACT_MODELS, *ROW_LEVEL_MODELS], full_refresh=True)
    assert fact_checksums(warehouse) == incremental
    assert fact_checksums(warehouse, ROW_LEVEL_RELATIONS) == row_level

    (first, last) = query(
        warehouse, "select min(scheduled_date), max(scheduled_date) from core.fct_jobs"
    )[0]
    (first_done, last_done) = query(
        warehouse, "select min(revenue_date), max(revenue_date) from finance.fct_revenue"
    )[0]
    first, last = min(first, first_done), max(last, last_done)
    middle = first + (last - first) / 2
    # partitioned backfill from nothing: two range windows; the second overlaps the first by a
    # day, so it also proves a window run replaces rows in place (delete + insert of the window)
    with duckdb.connect(str(warehouse)) as conn:
        for relation in FACT_RELATIONS:
            conn.execute(f"drop table {relation}")
    project.run("run", select=FACT_MODELS, vars={"min_date": str(first), "max_date": str(middle)})
    assert fact_checksums(warehouse) != incremental
    project.run("run", select=FACT_MODELS, vars={"min_date": str(middle), "max_date": str(last)})
    assert fact_checksums(warehouse) == incremental
