"""``bench backfill``'s Dagster floor: a no-op single-run backfill and the trace of its events."""

import dagster as dg

from benchmarks.backfill import dagster_floor

DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-08", timezone="UTC")
SPECS = [dg.AssetSpec(["marts", name], partitions_def=DAYS) for name in ("fct_a", "fct_b")]
TAGS = {
    "dagster/backfill": "unit",
    "dagster/asset_partition_range_start": "2026-01-02",
    "dagster/asset_partition_range_end": "2026-01-05",
}


def test_the_floor_is_one_run_with_an_event_per_asset_partition_and_a_trace() -> None:
    seconds, trace = dagster_floor(SPECS, TAGS)

    assert seconds > 0
    assert set(trace) == {
        "planning_s",
        "step_start_s",
        "to_first_materialization_s",
        "materializations_s",
        "after_materializations_s",
        "run_end_s",
    }
    assert all(value >= 0 for value in trace.values())


def test_the_floor_materializes_the_tagged_range_of_every_asset() -> None:
    instance = dg.DagsterInstance.ephemeral()
    seconds, _ = dagster_floor(SPECS, TAGS, instance=instance)

    events = instance.fetch_materializations(SPECS[0].key, limit=100).records
    assert seconds > 0
    assert sorted(e.partition_key for e in events) == [
        "2026-01-02",
        "2026-01-03",
        "2026-01-04",
        "2026-01-05",
    ]
    assert len(instance.fetch_materializations(SPECS[1].key, limit=100).records) == 4
