"""An incremental run's work follows the change, not the lookback.

After a sync that moves the fixture four days on, one job changes (a new priority, synced an
hour later). The rows of the previous sync lie inside the 3-day lookback, so the run re-reads
rows that did not change. It must write the changed job alone in the row-level models and
rebuild only that job's days in the daily aggregates; a version check that let every re-read
row through, or a reader that took every row of the lookback, writes more. Equal results are proven by
``test_row_level_incrementals``; this proves the rows the warehouse did not have to touch
were left alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from standins.sources import catalog

from . import raw_fixture
from .conftest import DbtProject, dbt_env

CHANGED_JOB = catalog.ID_OFFSET + 1
"""bu_north's first job (completed, on a day it shares with other jobs)."""
ROW_LEVEL = {
    "int_jobs_enriched": ("int_operations.int_jobs_enriched", "job_id"),
    "fct_jobs": ("core.fct_jobs", "job_id"),
}
STAMP = {"int_jobs_enriched": "_dbt_updated_at"}
"""The column saying when a build wrote a row: `_changes_read_at` (its read) unless named."""
DAILY = {
    "fct_revenue": ("finance.fct_revenue", "revenue_date", "completed_date"),
    "int_revenue_daily": ("int_finance.int_revenue_daily", "revenue_date", "completed_date"),
    "int_technician_daily_metrics": (
        "int_operations.int_technician_daily_metrics",
        "work_date",
        "completed_date",
    ),
    "rpt_operations_daily": ("operations.rpt_operations_daily", "report_date", None),
}


def _stamps(warehouse: Path) -> dict[str, dt.datetime]:
    """Each model's newest build stamp."""
    relations = {name: spec[0] for name, spec in (ROW_LEVEL | DAILY).items()}
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {
            name: conn.execute(
                f"select max({STAMP.get(name, '_changes_read_at')}) from {relation}"
            ).fetchone()[0]
            for name, relation in relations.items()
        }


def _written_since(changed: dict[str, Any], model: str, relation: str, column: str) -> set[Any]:
    """The distinct ``column`` values of the rows the second build wrote."""
    stamp = STAMP.get(model, "_changes_read_at")
    with duckdb.connect(str(changed["warehouse"]), read_only=True) as conn:
        rows = conn.execute(
            f"select distinct {column} from {relation} where {stamp} > ?",
            [changed["built_at"][model]],
        ).fetchall()
    return {value for (value,) in rows}


@pytest.fixture(scope="module")
def one_job_changed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("incremental_work")
    warehouse = workdir / "warehouse.duckdb"
    project = DbtProject(
        workdir, dbt_env(FIELDFORCE_WAREHOUSE_PATH=str(warehouse), DBT_TARGET="local")
    )
    initial = raw_fixture.initial_rows()
    raw_fixture.load_duckdb(str(warehouse), initial)
    project.run("build", exclude=["resource_type:test"])
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        (row_count,) = conn.execute(
            "select count(*) from int_operations.int_jobs_enriched"
        ).fetchone()
        job_days = conn.execute(
            "select scheduled_date, completed_date from int_operations.int_jobs_enriched"
            " where job_id = ?",
            [CHANGED_JOB],
        ).fetchone()
    north = catalog.landing_schema("jobs_db", "bu_north")
    jobs = {row["job_id"]: row for row in initial[(north, "jobs")]}
    # First a sync four days on, so the first sync's rows (its hard deletes and timesheets,
    # which the lookback re-reads) fall out of the 3-day lookback of every model.
    moved_on = next(
        job_id
        for job_id, row in jobs.items()
        if row["status"] == "completed" and job_id != CHANGED_JOB
    )
    later = raw_fixture.SYNC_1 + dt.timedelta(days=4)
    step = raw_fixture.merge(
        initial, {(north, "jobs"): [dict(jobs[moved_on], notes="x", _fivetran_synced=later)]}
    )
    raw_fixture.load_duckdb(str(warehouse), step)
    project.run("build", exclude=["resource_type:test"])
    built_at = _stamps(warehouse)
    # The measured sync: one job's priority.
    changed = dict(
        jobs[CHANGED_JOB], priority="high", _fivetran_synced=later + dt.timedelta(hours=1)
    )
    raw_fixture.load_duckdb(str(warehouse), raw_fixture.merge(step, {(north, "jobs"): [changed]}))
    project.run("build", exclude=["resource_type:test"])
    yield {
        "warehouse": warehouse,
        "built_at": built_at,
        "rows": row_count,
        "scheduled_date": job_days[0],
        "completed_date": job_days[1],
    }


@pytest.mark.parametrize("model", ROW_LEVEL)
def test_a_row_level_model_writes_only_the_changed_job(
    one_job_changed: dict[str, Any], model: str
) -> None:
    relation, key = ROW_LEVEL[model]
    assert one_job_changed["rows"] > 5, "the fixture holds more jobs than the one changed"
    written = _written_since(one_job_changed, model, relation, key)
    assert written == {CHANGED_JOB}


@pytest.mark.parametrize("model", DAILY)
def test_a_daily_aggregate_rebuilds_only_the_changed_jobs_days(
    one_job_changed: dict[str, Any], model: str
) -> None:
    relation, day_column, job_day = DAILY[model]
    days = {one_job_changed["scheduled_date"], one_job_changed["completed_date"]}
    if job_day is not None:
        days = {one_job_changed[job_day]}
    written = _written_since(one_job_changed, model, relation, day_column)
    assert written and written <= days, (written, days)
