"""The savings mart materialized over an instance holding a few builds, into a DuckDB warehouse."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from analytics_platform.automation.datatime import DATA_TIME_METADATA_KEY, SYNC_COMPLETED_KEY
from analytics_platform.automation.policy import POLICY_METADATA_KEY
from analytics_platform.automation.savings import RELATION, SAVINGS_KEY, build_savings_asset
from analytics_platform.automation.selection import TRIGGER_TAG
from analytics_platform.freshness import SYNC_WINDOW

JOBS = dg.AssetKey(["fivetran", "fivetran_postgres_bu_north", "jobs"])
MART = dg.AssetKey(["marts", "operations", "fct_jobs_daily"])


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def test_the_mart_counts_builds_syncs_and_windows_and_rewrites_its_days(tmp_path: Path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    now = datetime.now(UTC)
    syncs = [now - timedelta(minutes=minutes) for minutes in (50, 40, 20)]
    for succeeded_at in syncs:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=JOBS, metadata={SYNC_COMPLETED_KEY: _iso(succeeded_at)}
            )
        )
    # One build absorbed the first two syncs, a second the third; dbt timed each node.
    for reflected, seconds in ((syncs[1], 3.25), (syncs[2], 1.75)):
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=MART,
                metadata={
                    DATA_TIME_METADATA_KEY: dg.MetadataValue.json(
                        {JOBS.to_user_string(): _iso(reflected)}
                    ),
                    "Execution Duration": seconds,
                },
            )
        )

    # A planner run that rewrote two days of the fact reports two materializations: one build.
    @dg.asset(key=["test", "planner_run"])
    def planner_run() -> Iterator[Any]:
        for day in ("2025-03-01", "2025-03-02"):
            yield dg.AssetMaterialization(
                asset_key=MART,
                partition=day,
                metadata={
                    DATA_TIME_METADATA_KEY: dg.MetadataValue.json(
                        {JOBS.to_user_string(): _iso(syncs[2])}
                    ),
                    "Execution Duration": 4.0,
                },
            )
        yield dg.Output(None)

    ran = dg.materialize([planner_run], instance=instance, tags={TRIGGER_TAG: "planner"})
    assert ran.success
    specs = [
        dg.AssetSpec(
            MART,
            deps=[JOBS],
            group_name="marts_operations",
            metadata={POLICY_METADATA_KEY: "freshness: 30m/60m"},
            freshness_policy=SYNC_WINDOW.policy(),
        ),
        dg.AssetSpec(JOBS, group_name="ingest_jobs_db"),  # not planned: no row
    ]
    asset = build_savings_asset(specs)
    warehouse = tmp_path / "warehouse.duckdb"
    resources = {"warehouse": DuckDBResource(database=str(warehouse))}

    for _ in range(2):  # a second build rewrites its days rather than adding to them
        result = dg.materialize([asset], instance=instance, resources=resources)
        assert result.success

    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = connection.execute(
            f"select asset_key, activity_date, builds, planner_builds, syncs_absorbed,"
            f" syncs_absorbed_per_build, syncs_landed, syncs_in_window, windows_met, warehouse_s"
            f" from {RELATION}"
        ).fetchall()
    # The builds happened just now, so every sync was reflected within 30 minutes of landing
    # unless the day turned over between them (then they land on two rows).
    assert sum(row[2] for row in rows) == 3
    assert sum(row[3] for row in rows) == 1  # the planner's run, counted once
    assert {row[0] for row in rows} == {MART.to_user_string()}
    # The planner's run reflected nothing new: the second build had absorbed the third sync.
    assert sum(row[4] for row in rows) == 3
    assert sum(row[6] for row in rows) == 3
    # 50 minutes old when built: missed; 40: missed; 20: met.
    assert sum(row[7] for row in rows) == 1
    assert abs(sum(row[9] for row in rows) - 9.0) < 1e-9
    latest = instance.get_latest_materialization_event(SAVINGS_KEY)
    assert latest is not None and latest.asset_materialization is not None
    assert latest.asset_materialization.metadata["dagster/row_count"].value == len(rows)
