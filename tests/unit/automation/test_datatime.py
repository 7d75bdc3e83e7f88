"""Data time recorded on each build: the newest landed sync per connector table, min over paths."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from analytics_platform.automation import datatime
from analytics_platform.automation.policy import POLICY_METADATA_KEY
from analytics_platform.automation.selection import ON_CODE, ON_UPSTREAM, REBUILD_TAG

JOBS = dg.AssetKey(["fivetran", "jobs_db", "jobs"])
ACCOUNTS = dg.AssetKey(["fivetran", "salesforce", "account"])
VIEW = dg.AssetKey(["staging", "stg_jobs"])
TABLE = dg.AssetKey(["intermediate", "int_jobs"])
MART = dg.AssetKey(["marts", "finance", "fct_revenue"])

SPECS = [
    dg.AssetSpec(VIEW, deps=[JOBS], tags={REBUILD_TAG: ON_CODE}, skippable=True),
    dg.AssetSpec(TABLE, deps=[VIEW], tags={REBUILD_TAG: ON_UPSTREAM}, skippable=True),
    dg.AssetSpec(
        MART,
        deps=[TABLE, ACCOUNTS],
        tags={REBUILD_TAG: ON_UPSTREAM},
        metadata={POLICY_METADATA_KEY: "freshness: 30m/60m"},
        skippable=True,
    ),
]


@dg.multi_asset(specs=SPECS, can_subset=True)
def build(context: dg.AssetExecutionContext) -> Iterator[Any]:
    """Stands in for the dbt op: the same two calls around its event stream."""
    stamp = datatime.run_metadata(context)
    outputs = (
        dg.Output(None, output_name=key.to_python_identifier())
        for key in [VIEW, TABLE, MART]
        if key in context.selected_asset_keys
    )
    yield from datatime.stamped(context, outputs, stamp)


def _sync(instance: dg.DagsterInstance, key: dg.AssetKey, at: datetime) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(key, metadata={datatime.SYNC_COMPLETED_KEY: at.isoformat()})
    )


def _recorded(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[dg.AssetKey, float] | None:
    return datatime.recorded_data_time(instance.get_latest_materialization_event(key))


def test_views_are_looked_through() -> None:
    assert datatime.resolved_reads(SPECS) == {TABLE: {JOBS}, MART: {TABLE, ACCOUNTS}}


def test_each_build_records_the_syncs_it_read_min_over_paths() -> None:
    instance = dg.DagsterInstance.ephemeral()
    first = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    later = datetime(2026, 12, 7, 12, 15, tzinfo=UTC)
    _sync(instance, JOBS, first)
    _sync(instance, ACCOUNTS, first)
    dg.materialize([build], instance=instance, selection=[TABLE, MART])
    assert _recorded(instance, MART) == {JOBS: first.timestamp(), ACCOUNTS: first.timestamp()}
    assert _recorded(instance, TABLE) == {JOBS: first.timestamp()}
    mart = instance.get_latest_materialization_event(MART)
    assert mart is not None and mart.asset_materialization is not None
    assert mart.asset_materialization.metadata[POLICY_METADATA_KEY].value == "freshness: 30m/60m"

    # Both syncs again; only the mart is rebuilt: jobs reaches it through the old table.
    _sync(instance, JOBS, later)
    _sync(instance, ACCOUNTS, later)
    dg.materialize([build], instance=instance, selection=[MART])
    assert _recorded(instance, MART) == {JOBS: first.timestamp(), ACCOUNTS: later.timestamp()}


def test_a_source_never_synced_is_missing() -> None:
    instance = dg.DagsterInstance.ephemeral()
    _sync(instance, ACCOUNTS, datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    times = datatime.data_times_at_start(instance, SPECS, [TABLE, MART])
    assert times[TABLE] == {}
    assert set(times[MART]) == {ACCOUNTS}
