"""Syncs of the generated FieldForce estate equal the sources, change after change."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from standins.sources.estate import Estate
from testkit.builder import EstateSources, build_stack, private_root
from testkit.stack import (
    Stack,
    assert_all_landed,
    clear_pii_values,
    warehouse_strings,
)


@pytest.fixture(scope="module")
def estate_stack() -> Iterator[tuple[Estate, Stack]]:
    with private_root("fivetran-estate-") as root, build_stack(root, EstateSources()) as stack:
        yield stack.estate, stack


def assert_files_landed(stack: Stack) -> None:
    events = sum(pq.read_metadata(p).num_rows for p in stack.telematics_dir.glob("batch_*.parquet"))
    assert stack.warehouse_query("select count(*) from fivetran_telematics.gps_events") == [
        (events,)
    ]
    sheet = pacsv.read_csv(stack.sheets_dir / "regional_targets.csv")
    landed = stack.warehouse_query(
        "select region_id, month, revenue_target, jobs_target, owner"
        " from fivetran_sheets.regional_targets order by _row"
    )
    assert len(landed) == sheet.num_rows
    assert [r[0] for r in landed] == sheet.column("Region ID").to_pylist()


def test_historical_sync_equals_the_generated_estate(estate_stack: tuple[Estate, Stack]) -> None:
    _, stack = estate_stack
    assert_all_landed(stack)
    assert_files_landed(stack)


def test_incremental_syncs_follow_the_change_stream(estate_stack: tuple[Estate, Stack]) -> None:
    estate, stack = estate_stack
    for _ in range(2):
        estate.advance(180)
        syncs = stack.sync()
        assert all(s["status"] == "SUCCESSFUL" for s in syncs), [s["message"] for s in syncs]
        assert_all_landed(stack)
        assert_files_landed(stack)
    assert sum(s["rows_updated"] for s in syncs) > 0
    deleted = stack.warehouse_query(
        "select count(*) from fivetran_postgres_bu_north.jobs where _fivetran_deleted"
    ) + stack.warehouse_query(
        "select count(*) from fivetran_postgres_bu_north.job_line_items where _fivetran_deleted"
    )
    assert sum(n for (n,) in deleted) > 0
    clear = clear_pii_values(stack)
    assert not clear & warehouse_strings(stack)
