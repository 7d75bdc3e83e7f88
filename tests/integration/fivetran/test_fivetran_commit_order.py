"""The Jobs DB connectors read in commit order: a row's own timestamp cannot hide a change.

Through the real local Fivetran (its service process, its sync engine) over PostgreSQL Jobs DBs:
a row stamped decades ahead does not freeze the cursor, and a transaction that commits after a
later one (in a savepoint, too) still lands. Hard deletes keep flowing alongside.
"""

from __future__ import annotations

import psycopg
from standins.fivetran import minisource
from standins.sources import catalog
from testkit.stack import Stack

NORTH = catalog.ID_OFFSET
CONNECTOR = "postgres_jobs_bu_north"
SCHEMA = "fivetran_postgres_bu_north"


def sync_north(stack: Stack) -> dict:
    [entry] = stack.sync(CONNECTOR)
    assert entry["status"] == "SUCCESSFUL", entry
    return entry


def job(stack: Stack, job_id: int) -> tuple:
    rows = stack.warehouse_query(
        f"select status, notes, _fivetran_deleted from {SCHEMA}.jobs where job_id = ?", [job_id]
    )
    return rows[0] if rows else ()


def test_a_far_future_timestamp_does_not_stop_later_changes(stack: Stack) -> None:
    north = stack.jobs_dsns["bu_north"]
    stack.pg(
        north,
        "update public.jobs set status = 'cancelled', updated_at = '2099-01-01 00:00:00+00'"
        " where job_id = %s",
        (NORTH + 1,),
    )
    sync_north(stack)
    assert job(stack, NORTH + 1)[0] == "cancelled"

    # Every later change carries an ordinary (earlier) timestamp, or an old one.
    stack.pg(
        north,
        "update public.jobs set status = 'completed', updated_at = now() where job_id = %s",
        (NORTH + 2,),
    )
    minisource.fill_table(
        north, catalog.JOBS_DB, catalog.JOBS_DB.table("jobs"), 3, base=NORTH + 20_000
    )
    stack.pg(north, "delete from public.jobs where job_id = %s", (NORTH + 3,))
    entry = sync_north(stack)
    assert entry["tables"]["jobs"]["inserted"] == 3
    assert entry["tables"]["jobs"]["updated"] == 1
    assert entry["tables"]["jobs"]["deleted"] == 1
    assert job(stack, NORTH + 2)[0] == "completed"
    assert job(stack, NORTH + 3)[2] is True
    landed = stack.warehouse_query(
        f"select count(*) from {SCHEMA}.jobs where job_id > ? and not _fivetran_deleted",
        [NORTH + 20_000],
    )
    assert landed == [(3,)]
    # The future row itself is not landed again and again.
    again = sync_north(stack)
    assert again["tables"]["jobs"] == {
        "inserted": 0,
        "updated": 0,
        "deleted": 0,
        "mar": 0,
        "schema_changes": [],
    }


def test_a_transaction_committing_after_a_later_one_still_lands(stack: Stack) -> None:
    north = stack.jobs_dsns["bu_north"]
    with psycopg.connect(north) as slow:
        # The slow transaction writes first, with the earlier timestamp, and commits last;
        # one of its writes sits in a savepoint (a subtransaction of its own).
        slow.execute(
            "update public.jobs set notes = 'slow', updated_at = now() where job_id = %s",
            (NORTH + 5,),
        )
        with slow.transaction():
            slow.execute(
                "update public.jobs set notes = 'slow savepoint', updated_at = now()"
                " where job_id = %s",
                (NORTH + 7,),
            )
        stack.pg(
            north,
            "update public.jobs set notes = 'fast', updated_at = now() + interval '1 hour'"
            " where job_id = %s",
            (NORTH + 6,),
        )
        sync_north(stack)
        assert job(stack, NORTH + 6)[1] == "fast"
        assert job(stack, NORTH + 5)[1] != "slow"  # not committed yet: not visible
        slow.commit()
    entry = sync_north(stack)
    assert job(stack, NORTH + 5)[1] == "slow"
    assert job(stack, NORTH + 7)[1] == "slow savepoint"
    assert entry["tables"]["jobs"]["updated"] == 2
    # Line items of an untouched table: nothing re-landed.
    assert entry["tables"]["job_line_items"]["updated"] == 0
