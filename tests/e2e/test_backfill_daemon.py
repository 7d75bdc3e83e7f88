"""Partitioned backfills under the real daemon: one run, a full refresh's rows, idempotent.

Issue #6: "launch a 10-partition backfill through GraphQL → one run, checksums equal to a full
refresh, a second backfill changes nothing". The backfill is launched the way the UI launches
it (``launchPartitionBackfill``) and run by the daemon's backfill loop. The reference is a full
refresh of the same three facts built by plain dbt into a copy of the warehouse taken while the
platform was quiet, so both builds read the very same landed data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from testkit.backfills import (
    BackfillOutcome,
    dbt_full_refresh,
    materialized_partitions,
    partitioned_assets,
    run_backfill,
    snapshot_warehouse,
)
from testkit.harness import RunningPlatform
from testkit.warehouse_checksums import (
    PARTITIONED_FACTS,
    connect_read_only,
    fact_checksums,
    window_predicate,
)

FACT_MODELS = ("fct_jobs", "fct_revenue", "int_technician_daily_metrics")
REFERENCE_START = date(2026, 1, 1)
"""The estate's start when the stack does not say (an estate saved before it recorded one)."""


@dataclass(frozen=True)
class Window:
    """Ten days a month into the estate's history (it starts 90 days before it was generated):
    every day has data."""

    first: date
    last: date

    @property
    def partitions(self) -> list[str]:
        return [
            (self.first + timedelta(days=i)).isoformat()
            for i in range((self.last - self.first).days + 1)
        ]


@pytest.fixture(scope="module")
def window(running_platform: RunningPlatform) -> Window:
    start = running_platform.info["sources"].get("start")
    first = (datetime.fromisoformat(start).date() if start else REFERENCE_START) + timedelta(
        days=31
    )
    return Window(first, first + timedelta(days=9))


@pytest.fixture(scope="module")
def partitioned_keys(running_platform: RunningPlatform, window: Window) -> list[dg.AssetKey]:
    """The partitioned facts the code location serves (as the UI lists them), once built.

    The platform is quiet before automation's first build has even been requested when the
    machine is slow, so wait for the facts themselves, then for the marts after them.
    """
    assets = partitioned_assets(running_platform)
    assert sorted(asset.key.path[-1] for asset in assets) == sorted(FACT_MODELS)
    assert {asset.backfill_policy for asset in assets} == {"SINGLE_RUN"}
    assert all(set(window.partitions) <= set(asset.partition_keys) for asset in assets)
    keys = [asset.key for asset in assets]
    instance = running_platform.instance()
    running_platform.wait_for(
        lambda: all(instance.get_latest_materialization_event(key) for key in keys),
        timeout_s=900,
        what="automation's first build of the partitioned facts",
    )
    running_platform.wait_quiet(quiet_s=15, timeout_s=600)
    return keys


@pytest.fixture(scope="module")
def full_refresh(
    running_platform: RunningPlatform,
    partitioned_keys: list[dg.AssetKey],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    """A copy of the built warehouse, taken while quiet, with the facts fully refreshed by dbt."""
    work = tmp_path_factory.mktemp("backfill_full_refresh")
    copy = work / "warehouse.duckdb"
    snapshot_warehouse(Path(running_platform.info["warehouse"]["path"]), copy)
    dbt_full_refresh(copy, work, FACT_MODELS)
    yield copy


def _backfill(
    platform: RunningPlatform, keys: list[dg.AssetKey], window: Window
) -> BackfillOutcome:
    title = f"e2e {window.first}..{window.last}"
    return run_backfill(platform, keys, window.partitions, title, timeout_s=300)


def _one_successful_range_run(
    outcome: BackfillOutcome, keys: list[dg.AssetKey], window: Window
) -> dg.DagsterRun:
    partitions = window.partitions
    assert outcome.status in ("COMPLETED", "COMPLETED_SUCCESS"), outcome
    assert outcome.partitions == len(partitions)
    # BackfillPolicy.single_run: ten partitions of three assets are one run (one dbt start-up).
    assert len(outcome.runs) == 1, [(run.run_id, run.status) for run in outcome.runs]
    [run] = outcome.runs
    assert run.status == dg.DagsterRunStatus.SUCCESS, run.run_id
    assert run.tags.get("dagster/asset_partition_range_start") == partitions[0]
    assert run.tags.get("dagster/asset_partition_range_end") == partitions[-1]
    assert set(run.asset_selection or ()) == set(keys)
    return run


def _window_rows_written_since(
    platform: RunningPlatform, since: float, window: Window
) -> dict[str, list[int]]:
    """Per fact: [rows in the window, of them rows dbt wrote at or after ``since``]."""
    stamp = datetime.fromtimestamp(since, tz=UTC).replace(tzinfo=None)
    conn = connect_read_only(Path(platform.info["warehouse"]["path"]))
    try:
        counts = {}
        for relation, column in PARTITIONED_FACTS.items():
            row = conn.execute(
                f"select count(*), count(*) filter (where _dbt_updated_at >= ?) from {relation}"
                f" where {window_predicate(column, window.first, window.last)}",
                [stamp],
            ).fetchone()
            assert row is not None
            counts[relation] = [int(row[0]), int(row[1])]
        return counts
    finally:
        conn.close()


def test_backfill_is_one_run_equal_to_a_full_refresh_and_idempotent(
    running_platform: RunningPlatform,
    partitioned_keys: list[dg.AssetKey],
    full_refresh: Path,
    window: Window,
) -> None:
    live = Path(running_platform.info["warehouse"]["path"])
    days = (window.first, window.last)
    reference = fact_checksums(full_refresh)
    reference_window = fact_checksums(full_refresh, days)
    assert all(checksum.rows > 0 for checksum in reference_window.values()), reference_window
    # Outside the window every column counts, build times included: untouched means untouched.
    outside_before = fact_checksums(live, days, inside=False, exclude=())

    first = _backfill(running_platform, partitioned_keys, window)
    run = _one_successful_range_run(first, partitioned_keys, window)
    assert materialized_partitions(running_platform, run) == {
        name: window.partitions for name in FACT_MODELS
    }
    # Every row of the window was rewritten by this backfill, and they are the full refresh's.
    written = _window_rows_written_since(running_platform, first.launched_at, window)
    assert written == {rel: [c.rows, c.rows] for rel, c in reference_window.items()}
    assert fact_checksums(live, days) == reference_window
    assert fact_checksums(live, days, inside=False, exclude=()) == outside_before
    assert fact_checksums(live) == reference

    # The facts feed eager marts: let that rebuild finish before the second backfill.
    running_platform.wait_quiet(quiet_s=15, timeout_s=600)
    second = _backfill(running_platform, partitioned_keys, window)
    again = _one_successful_range_run(second, partitioned_keys, window)
    assert again.run_id != run.run_id
    rewritten = _window_rows_written_since(running_platform, second.launched_at, window)
    assert all(total == fresh > 0 for total, fresh in rewritten.values()), rewritten
    assert fact_checksums(live) == reference  # rebuilt again, nothing changed

    running_platform.wait_quiet(quiet_s=10, timeout_s=600)
    failed = [
        r.run_id
        for r in running_platform.runs_since(first.launched_at)
        if r.status == dg.DagsterRunStatus.FAILURE
    ]
    assert failed == [], f"runs failed around the backfills: {failed} ({running_platform.logs()})"
