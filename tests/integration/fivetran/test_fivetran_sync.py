"""Syncs land every source table with Fivetran's semantics, and count MAR right."""

from __future__ import annotations

import re

from standins.fivetran import minisource
from standins.sources import catalog
from testkit.stack import (
    Stack,
    assert_all_landed,
    clear_pii_values,
    warehouse_strings,
)

NORTH = catalog.ID_OFFSET  # tenant 1 ids start at ID_OFFSET + 1


def change_sources(stack: Stack) -> None:
    """A known change set: 10 job updates, 5 inserts, 3 hard deletes, line-item deletes,
    a Salesforce soft delete, a QuickBooks payment update, a new GPS batch, a new sheet."""
    north = stack.jobs_dsns["bu_north"]
    stack.pg(
        north,
        "update public.jobs set status = 'completed', updated_at = now()"
        " where job_id between %s and %s",
        (NORTH + 1, NORTH + 10),
    )
    minisource.fill_table(
        north, catalog.JOBS_DB, catalog.JOBS_DB.table("jobs"), 5, base=NORTH + 10_000
    )
    stack.pg(
        north, "update public.jobs set updated_at = now() where job_id > %s", (NORTH + 10_000,)
    )
    stack.pg(
        north, "delete from public.jobs where job_id between %s and %s", (NORTH + 11, NORTH + 13)
    )
    stack.pg(north, "delete from public.job_line_items where line_item_id <= %s", (NORTH + 4,))
    stack.pg(
        north,
        "update public.customers set email = 'changed@example.com', updated_at = now()"
        " where customer_id = %s",
        (NORTH + 1,),
    )
    stack.pg(
        stack.saas_dsn,
        'update salesforce."Account" set "IsDeleted" = true, "SystemModstamp" = now()'
        """ where "Id" = '001000000000000001'""",
    )
    stack.pg(
        stack.saas_dsn,
        "update quickbooks.payment set total_amt = 1.23, updated_at = now() where id <= 3",
    )
    minisource.write_gps_batch(stack.telematics_dir, 2, 1_500)
    minisource.write_sheet(stack.sheets_dir, rows=20)


def test_initial_sync_lands_every_table_with_metadata(shared_stack: Stack) -> None:
    stack = shared_stack
    assert_all_landed(stack)
    schemas = {r[0] for r in stack.warehouse_query("select schema_name from duckdb_schemas()")}
    assert {
        "fivetran_postgres_bu_north",
        "fivetran_postgres_bu_south",
        "fivetran_salesforce",
        "fivetran_quickbooks",
        "fivetran_servicetitan",
        "fivetran_telematics",
        "fivetran_sheets",
        "fivetran_metadata",
    } <= schemas
    # Every landed table carries the Fivetran columns, never null.
    tables = stack.warehouse_query(
        "select table_schema, table_name from information_schema.tables"
        " where table_schema like 'fivetran_%' and table_schema <> 'fivetran_metadata'"
    )
    for schema, table in tables:
        nulls = stack.warehouse_query(
            f'select count(*) from "{schema}"."{table}"'
            " where _fivetran_synced is null or _fivetran_deleted is null"
        )
        assert nulls == [(0,)], f"{schema}.{table}"
    # Append-only GPS: one row per delivered event, unique _fivetran_id.
    assert stack.warehouse_query(
        "select count(*), count(distinct _fivetran_id) from fivetran_telematics.gps_events"
    ) == [(2_000, 2_000)]
    # Sheets: _row is the 1-based key.
    assert stack.warehouse_query(
        "select min(_row), max(_row), count(*) from fivetran_sheets.regional_targets"
    ) == [(1, 24, 24)]
    # Fivetran's own metadata.
    connections = stack.warehouse_query(
        "select connection_id, destination_schema, sync_frequency from fivetran_metadata.connection"
    )
    assert ("postgres_jobs_bu_north", "fivetran_postgres_bu_north", 15) in connections
    assert len(connections) == 7
    ends = stack.warehouse_query(
        "select connection_id, message_data from fivetran_metadata.log where message_event = 'sync_end'"
    )
    assert len(ends) == 7 and all('"SUCCESSFUL"' in d for _, d in ends)


def test_incremental_syncs_mar_and_pii(stack: Stack) -> None:
    """Updates, inserts and deletes land; MAR counts a key once a month; PII never lands."""
    change_sources(stack)
    syncs = stack.sync()
    assert all(s["status"] == "SUCCESSFUL" for s in syncs), syncs
    assert_all_landed(stack)
    deleted = stack.warehouse_query(
        "select job_id from fivetran_postgres_bu_north.jobs where _fivetran_deleted order by 1"
    )
    assert deleted == [(NORTH + 11,), (NORTH + 12,), (NORTH + 13,)]
    # Salesforce soft delete: a normal row with is_deleted, not a Fivetran delete.
    assert stack.warehouse_query(
        "select is_deleted, _fivetran_deleted from fivetran_salesforce.account"
        " where id = '001000000000000001'"
    ) == [(True, False)]
    assert stack.warehouse_query("select count(*) from fivetran_telematics.gps_events") == [
        (3_500,)
    ]
    assert stack.warehouse_query("select count(*) from fivetran_sheets.regional_targets") == [(20,)]
    north = next(s for s in syncs if s["connector_id"] == "postgres_jobs_bu_north")
    assert north["tables"]["jobs"] == {
        "inserted": 5,
        "updated": 10,
        "deleted": 3,
        "mar": 18,
        "schema_changes": [],
    }
    assert north["tables"]["job_line_items"]["deleted"] == 4
    # An unchanged sync moves nothing.
    again = stack.sync("postgres_jobs_bu_north")
    assert again[0]["rows_inserted"] == again[0]["rows_updated"] == again[0]["rows_deleted"] == 0
    # The same ten jobs change again: still 18 monthly active rows for jobs.
    stack.pg(
        stack.jobs_dsns["bu_north"],
        "update public.jobs set priority = 'high', updated_at = now() where job_id between %s and %s",
        (NORTH + 1, NORTH + 10),
    )
    stack.sync("postgres_jobs_bu_north")
    rows = dict(
        stack.warehouse_query(
            "select free_type, sum(incremental_rows) from fivetran_metadata.incremental_mar"
            " where connection_id = 'postgres_jobs_bu_north' and table_name = 'jobs' group by 1"
        )
    )
    assert rows == {"FREE": 200, "PAID": 18}
    gps = stack.warehouse_query(
        "select free_type, sum(incremental_rows) from fivetran_metadata.incremental_mar"
        " where table_name = 'gps_events' group by 1 order by 1"
    )
    assert gps == [("FREE", 2_000), ("PAID", 1_500)]

    # PII: hashed everywhere, in every sync.
    clear = clear_pii_values(stack)
    assert len(clear) > 500 and "changed@example.com" in clear
    strings = warehouse_strings(stack)
    leaked = clear & strings
    assert not leaked, f"clear PII in the warehouse: {sorted(leaked)[:5]}"
    assert not any("@example.com" in s for s in strings)
    emails = stack.warehouse_query("select email from fivetran_postgres_bu_north.customers")
    assert all(re.fullmatch(r"[0-9a-f]{64}", e) for (e,) in emails)
