"""The catch-up sensor's view of a partitioned fact whose build reported no day."""

from collections.abc import Iterator

import dagster as dg

from analytics_platform.automation import stale_roots
from analytics_platform.automation.catch_up import _asset_states

TABLE = dg.AssetKey(["intermediate", "int_jobs"])
FACT = dg.AssetKey(["marts", "core", "fct_daily"])
DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC")


def test_a_fact_built_without_a_changed_day_has_read_its_inputs() -> None:
    """Its newest successful run counts as its build, so the net does not rebuild it forever."""
    changed_days: list[str] = ["2026-02-10"]

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(TABLE, skippable=True),
            dg.AssetSpec(FACT, deps=[TABLE], partitions_def=DAILY, skippable=True),
        ],
        can_subset=True,
    )
    def build() -> Iterator[dg.Output | dg.AssetMaterialization]:
        yield dg.Output(None, output_name=TABLE.to_python_identifier())
        for day in changed_days:
            yield dg.AssetMaterialization(asset_key=FACT, partition=day)

    instance = dg.DagsterInstance.ephemeral()
    first = dg.materialize([build], instance=instance, partition_key="2026-02-28")
    changed_days.clear()
    second = dg.materialize([build], instance=instance, partition_key="2026-02-28")

    states = _asset_states(instance, [TABLE, FACT])
    latest = instance.get_latest_materialization_event(FACT)
    assert latest is not None and latest.run_id == first.run_id  # nothing reported since
    assert states[FACT].run_id == second.run_id
    assert stale_roots({FACT: [TABLE]}, states, active=[]) == []
