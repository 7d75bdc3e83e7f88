"""Schema drift per the design's table, schedules on the service clock, and a crash mid-sync."""

from __future__ import annotations

import time
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from standins.fivetran import minisource
from standins.fivetran.service import CRASH_EXIT_CODE
from standins.sources import catalog
from testkit.stack import Stack, StackFactory, assert_all_landed

NORTH = catalog.ID_OFFSET
SOUTH = 2 * catalog.ID_OFFSET


def drift(stack: Stack, connector_id: str, **spec: Any) -> None:
    with stack.client() as c:
        resp = c.post(f"/admin/drift/{connector_id}", json=spec)
    assert resp.status_code == 200, resp.text


def columns(stack: Stack, schema: str, table: str) -> dict[str, str]:
    return dict(
        stack.warehouse_query(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = ? and table_name = ?",
            [schema, table],
        )
    )


@pytest.fixture(scope="module")
def drift_stack(shared_stack: Stack) -> Stack:
    return shared_stack


def test_schema_drift_follows_the_sdd(drift_stack: Stack) -> None:
    stack = drift_stack
    north, schema = "postgres_jobs_bu_north", "fivetran_postgres_bu_north"
    # New column: propagated.
    drift(
        stack,
        north,
        action="add_column",
        table="jobs",
        column="customer_rating",
        type="integer",
        default=5,
    )
    # Removed column: kept in the destination, NULL for rows written afterwards.
    drift(stack, north, action="drop_column", table="jobs", column="notes")
    # Compatible type change: the destination widens.
    drift(stack, north, action="change_type", table="jobs", column="region_id", type="bigint")
    # New table in the source schema: synced.
    drift(
        stack,
        north,
        action="add_table",
        table="equipment",
        columns="equipment_id bigint primary key, name text, updated_at timestamptz default now()",
    )
    stack.pg(
        stack.jobs_dsns["bu_north"],
        "insert into public.equipment (equipment_id, name) values (1, 'van'), (2, 'ladder')",
    )
    # GPS: a later batch carries a new field; both batches land, the column is added.
    extra = pq.read_table(minisource.write_gps_batch(stack.telematics_dir, 3, 10))
    extra = extra.append_column("battery_pct", pa.array([50.0] * 10))
    pq.write_table(extra, stack.telematics_dir / "batch_00000003.parquet")
    minisource.write_gps_batch(stack.telematics_dir, 2, 10)
    (sync, gps) = stack.sync(north, "telematics_gps")
    assert sync["status"] == "SUCCESSFUL", sync["message"]
    assert gps["status"] == "SUCCESSFUL", gps["message"]
    assert stack.warehouse_query(
        "select count(*), count(battery_pct) from fivetran_telematics.gps_events"
    ) == [(2_020, 10)]
    cols = columns(stack, schema, "jobs")
    assert cols["customer_rating"] == "INTEGER"
    assert cols["notes"] == "VARCHAR"
    assert cols["region_id"] == "BIGINT"
    assert stack.warehouse_query(
        f"select count(*), count(notes), min(customer_rating) from {schema}.jobs"
    ) == [(200, 0, 5)]
    assert stack.warehouse_query(
        f"select equipment_id, name from {schema}.equipment order by 1"
    ) == [
        (1, "van"),
        (2, "ladder"),
    ]
    changes = {c["type"] for c in sync["tables"]["jobs"]["schema_changes"]}
    assert changes == {"ADD_COLUMN", "DROP_COLUMN", "CHANGE_COLUMN_TYPE"}
    events = stack.warehouse_query(
        "select message_data from fivetran_metadata.log where message_event = 'schema_change'"
        " and connection_id = ?",
        [north],
    )
    assert len(events) == 4
    with stack.client() as c:
        config = c.get(f"/v1/connectors/{north}/schemas").json()["data"]
    tables = config["schemas"]["public"]["tables"]
    assert tables["equipment"]["enabled"] is True
    assert "customer_rating" in tables["jobs"]["columns"]


def test_incompatible_type_change_fails_the_sync(drift_stack: Stack) -> None:
    stack = drift_stack
    south = "postgres_jobs_bu_south"
    before = stack.warehouse_query("select * from fivetran_postgres_bu_south.jobs order by job_id")
    drift(
        stack,
        south,
        action="change_type",
        table="jobs",
        column="total_amount_cents",
        type="text",
        using="'$' || total_amount_cents::text",
    )
    (sync,) = stack.sync(south)
    assert sync["status"] == "FAILURE"
    message = sync["message"]
    for part in (south, "fivetran_postgres_bu_south.jobs.total_amount_cents", "BIGINT", "text"):
        assert part in message
    assert (
        stack.warehouse_query("select * from fivetran_postgres_bu_south.jobs order by job_id")
        == before
    )
    with stack.client() as c:
        details = c.get(f"/v1/connectors/{south}").json()["data"]
    assert details["failed_at"] > details["succeeded_at"]
    assert "incompatible type change" in details["status"]["tasks"][0]["message"]


def test_auto_schedules_run_on_the_service_clock(stack_factory: StackFactory) -> None:
    stack = stack_factory(start=False)
    stack.start(speed=3600)  # 15 min -> 0.25 s, 24 h -> 24 s
    with stack.client() as c:
        c.patch("/v1/connectors/salesforce_crm", json={"schedule_type": "manual"})
        deadline = time.monotonic() + 15  # < 24 s: sheets (daily) must not come round again
        while True:
            history = c.get("/admin/syncs", params={"limit": 1000}).json()["items"]
            count: dict[str, int] = {}
            for entry in history:
                count[entry["connector_id"]] = count.get(entry["connector_id"], 0) + 1
            if count.get("postgres_jobs_bu_north", 0) >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert count["postgres_jobs_bu_north"] >= 3
    assert count["sheets_targets"] == 1
    assert count.get("salesforce_crm", 0) <= 1  # at most its initial sync, then manual


def test_crash_mid_sync_leaves_the_warehouse_consistent(stack: Stack) -> None:
    north = "postgres_jobs_bu_north"
    before = stack.warehouse_query("select * from fivetran_postgres_bu_north.jobs order by job_id")
    stack.pg(stack.jobs_dsns["bu_north"], "update public.jobs set status = 'x', updated_at = now()")
    stack.pg(stack.jobs_dsns["bu_north"], "delete from public.jobs where job_id = %s", (NORTH + 5,))
    with stack.client() as c:
        c.post(f"/admin/faults/{north}", json={"type": "crash"})
        c.post("/admin/syncs", json={"connector_ids": [north], "wait": False})
    assert stack.proc is not None
    assert stack.proc.wait(timeout=60) == CRASH_EXIT_CODE
    stack.proc = None
    assert (
        stack.warehouse_query("select * from fivetran_postgres_bu_north.jobs order by job_id")
        == before
    )
    stack.start()
    with stack.client() as c:
        status = c.get("/admin/status").json()["connectors"][north]
    assert "interrupted" in status["last_error"]
    (sync,) = stack.sync(north)
    assert sync["status"] == "SUCCESSFUL"
    assert_all_landed(stack)
