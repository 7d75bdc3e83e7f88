"""dbt build on the small raw fixture (DuckDB): marts equal the ground truth and the edge cases
land where they should. The incremental path is proven on generated data
(test_dbt_generated.py) and on the Snowflake SQL path with this fixture's change set
(test_dbt_snowflake_local.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import raw_fixture
from .conftest import query


def test_initial_build_matches_ground_truth(initial_build: dict[str, Any]) -> None:
    assert initial_build["marts"] == raw_fixture.ground_truth(raw_fixture.initial_rows())
    # data tests, unit tests, snapshots and seeds all ran inside the build
    assert "ERROR=0" in initial_build["stdout"]
    assert "4 unit tests" in initial_build["stdout"]


def test_staging_handles_deletes_duplicates_and_tenants(initial_build: dict[str, Any]) -> None:
    warehouse: Path = initial_build["warehouse"]
    deleted_job = raw_fixture.OFFSET + 5
    assert query(
        warehouse, f"select count(*) from stg_jobs.stg_jobs__jobs where job_id = {deleted_job}"
    ) == [(0,)]
    assert query(warehouse, f"select count(*) from core.fct_jobs where job_id = {deleted_job}") == [
        (0,)
    ]
    assert query(warehouse, "select job_id from stg_jobs.stg_jobs__job_deletions") == [
        (deleted_job,)
    ]
    assert query(
        warehouse, "select customer_id, is_deleted from core.dim_customers where is_deleted"
    ) == [(raw_fixture.OFFSET + 3, True)]
    assert query(
        warehouse,
        "select count(*), count(distinct gps_event_id) from stg_telematics.stg_telematics__gps_events",
    ) == [(3, 3)]
    assert query(
        warehouse, "select account_id from stg_salesforce.stg_salesforce__accounts where is_deleted"
    ) == [("001bu_s00000000002",)]
    assert query(
        warehouse, "select tenant_id, count(*) from core.fct_jobs group by 1 order by 1"
    ) == [
        ("bu_north", 6),
        ("bu_south", 5),
    ]
