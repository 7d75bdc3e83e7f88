"""The sync sensor: one run per batch of landed syncs, and never a dropped report.

The graph is the platform's shape in miniature: a connector table, a staging view over it, an
intermediate table, a daily-partitioned fact and a report over the fact. The models and the
fact are in two multi-assets here, the harder case for a single run (Dagster must order the
pieces of the cycle tables -> fact -> report); the platform's ``dbt_fieldforce`` is one
multi-asset with the partitions on the facts' specs. Runs are executed in process on an
ephemeral instance.
"""

import json
import time
from collections.abc import Iterator

import dagster as dg

from analytics_platform.automation import (
    ON_CODE,
    ON_CRON,
    ON_UPSTREAM,
    REBUILD_TAG,
    build_sync_sensor,
    sync_batch_due,
    sync_rebuilds,
)

JOBS = dg.AssetKey(["fivetran", "fivetran_jobs", "jobs"])
CRM = dg.AssetKey(["fivetran", "fivetran_crm", "account"])
LOG = dg.AssetKey(["fivetran", "fivetran_metadata", "log"])
VIEW = dg.AssetKey(["staging", "stg_jobs"])
CRM_VIEW = dg.AssetKey(["staging", "stg_accounts"])
TABLE = dg.AssetKey(["intermediate", "int_jobs"])
FACT = dg.AssetKey(["marts", "core", "fct_jobs"])
REPORT = dg.AssetKey(["marts", "ops", "rpt_jobs"])
SCHEDULED = dg.AssetKey(["marts", "executive", "rpt_weekly"])
AFTER_SCHEDULED = dg.AssetKey(["marts", "executive", "rpt_weekly_summary"])

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC")
UPSTREAM = {REBUILD_TAG: ON_UPSTREAM}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(VIEW, deps=[JOBS], group_name="staging", tags={REBUILD_TAG: ON_CODE}),
        dg.AssetSpec(CRM_VIEW, deps=[CRM], group_name="staging", tags={REBUILD_TAG: ON_CODE}),
        dg.AssetSpec(TABLE, deps=[VIEW], tags=UPSTREAM),
        dg.AssetSpec(REPORT, deps=[FACT, CRM_VIEW], tags=UPSTREAM),
        dg.AssetSpec(SCHEDULED, deps=[TABLE], tags={REBUILD_TAG: ON_CRON}),
        dg.AssetSpec(AFTER_SCHEDULED, deps=[SCHEDULED], tags=UPSTREAM),
    ],
    can_subset=True,
)
def models(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
    """Stands in for ``dbt build`` of the selected models."""
    for key in sorted(context.selected_asset_keys, key=str):
        yield dg.MaterializeResult(asset_key=key)


@dg.multi_asset(specs=[dg.AssetSpec(FACT, deps=[TABLE], tags=UPSTREAM)], partitions_def=DAILY)
def facts(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
    """Stands in for the partitioned facts' ``dbt build``."""
    context.log.info("partition %s", context.partition_key)
    yield dg.MaterializeResult(asset_key=FACT)


CONNECTORS = [dg.AssetSpec(key, kinds={"fivetran"}) for key in (JOBS, CRM, LOG)]


def _defs(quiet_s: float = 0.0) -> tuple[dg.Definitions, dg.SensorDefinition]:
    specs = list(dg.Definitions(assets=[*CONNECTORS, models, facts]).resolve_all_asset_specs())
    sensor = build_sync_sensor(
        sync_rebuilds(specs),
        partitioned={FACT},
        partitions_def=DAILY,
        run_tags={"fieldforce/warehouse": "dbt"},
        quiet_s=quiet_s,
    )
    return dg.Definitions(assets=[*CONNECTORS, models, facts], sensors=[sensor]), sensor


class Tick:
    """Evaluates the sensor like the daemon does: each tick carries the previous cursor."""

    def __init__(self, defs: dg.Definitions, sensor: dg.SensorDefinition) -> None:
        self.defs, self.sensor, self.cursor = defs, sensor, None
        self.instance = dg.DagsterInstance.ephemeral()

    def __call__(self) -> dg.SensorResult:
        context = dg.build_sensor_context(
            instance=self.instance, definitions=self.defs, cursor=self.cursor
        )
        result = self.sensor(context)
        assert isinstance(result, dg.SensorResult)
        if result.cursor is not None:
            self.cursor = result.cursor
        return result

    def sync(self, *keys: dg.AssetKey) -> None:
        for key in keys:
            self.instance.report_runless_asset_event(dg.AssetMaterialization(key))

    def execute(self, request: dg.RunRequest) -> list[dg.AssetKey]:
        """Run the request as the daemon would; the materialized keys, in order."""
        job = self.defs.resolve_implicit_global_asset_job_def().get_subset(
            asset_selection=set(request.asset_selection or ())
        )
        result = job.execute_in_process(
            instance=self.instance, partition_key=request.partition_key, tags=request.tags
        )
        assert result.success
        return [event.asset_key for event in result.get_asset_materialization_events()]


def test_a_sync_rebuilds_through_views_and_tables_and_stops_at_a_scheduled_report() -> None:
    specs = list(dg.Definitions(assets=[*CONNECTORS, models, facts]).resolve_all_asset_specs())
    rebuilds = sync_rebuilds(specs)
    assert rebuilds[JOBS] == {TABLE, FACT, REPORT}  # not the view, not the cron report
    assert rebuilds[CRM] == {REPORT}  # through its view
    assert rebuilds[LOG] == frozenset()
    assert set(rebuilds) == {JOBS, CRM, LOG}  # only connector tables are keys


def test_one_run_per_sync_with_the_facts_latest_partition_in_order() -> None:
    tick = Tick(*_defs())
    tick.sync(JOBS, CRM)  # landed before the sensor first ran: recorded, not rebuilt
    first = tick()
    assert first.run_requests == [] and first.cursor is not None
    assert tick().run_requests == []

    tick.sync(JOBS)
    (request,) = tick().run_requests
    assert set(request.asset_selection or ()) == {TABLE, FACT, REPORT}
    assert request.partition_key == DAILY.get_last_partition_key()
    assert request.tags["fieldforce/warehouse"] == "dbt"
    assert request.tags["fieldforce/trigger"] == "sync"
    # One run: the table, then the fact's partition, then the report over it.
    assert tick.execute(request) == [TABLE, FACT, REPORT]
    assert tick().run_requests == []  # acted on once


def test_two_connectors_landing_together_make_one_run() -> None:
    tick = Tick(*_defs())
    tick()
    tick.sync(JOBS, CRM, LOG)
    (request,) = tick().run_requests
    assert set(request.asset_selection or ()) == {TABLE, FACT, REPORT}
    assert tick().run_requests == []


def test_a_sync_that_lands_while_its_rebuild_runs_is_the_next_run() -> None:
    """The failure mode of vanilla eager(): the second sync must not be absorbed."""
    tick = Tick(*_defs())
    tick()
    tick.sync(JOBS)
    (first,) = tick().run_requests
    tick.sync(JOBS)  # lands after the request, while its run would be queued or executing
    tick.execute(first)
    (second,) = tick().run_requests
    assert set(second.asset_selection or ()) == {TABLE, FACT, REPORT}
    tick.execute(second)
    assert tick().run_requests == []


def test_a_batch_waits_for_quiet_and_the_cursor_waits_with_it() -> None:
    tick = Tick(*_defs(quiet_s=3600.0))
    tick()
    before = tick.cursor
    tick.sync(CRM)
    waiting = tick()
    assert waiting.run_requests == []
    assert waiting.skip_reason is not None
    assert "waiting for quiet" in (waiting.skip_reason.skip_message or "")
    assert tick.cursor == before  # nothing acted on, nothing forgotten


def test_a_sync_with_nothing_downstream_moves_the_cursor_without_a_run() -> None:
    tick = Tick(*_defs())
    tick()
    tick.sync(LOG)
    result = tick()
    assert result.run_requests == []
    assert LOG.to_user_string() in json.loads(tick.cursor or "{}")
    tick.sync(CRM)
    (request,) = tick().run_requests
    assert set(request.asset_selection or ()) == {REPORT}
    assert request.partition_key is None  # no partitioned asset in the run


def test_batch_due_after_quiet_or_after_the_longest_hold() -> None:
    now = time.time()
    assert not sync_batch_due([], now, quiet_s=1.5, max_hold_s=60)
    assert not sync_batch_due([now - 1.0], now, quiet_s=1.5, max_hold_s=60)
    assert sync_batch_due([now - 2.0], now, quiet_s=1.5, max_hold_s=60)
    # A steady trickle of reports never goes quiet: the oldest's hold ends the wait.
    assert not sync_batch_due([now - 30, now - 0.5], now, quiet_s=1.5, max_hold_s=60)
    assert sync_batch_due([now - 61, now - 0.5], now, quiet_s=1.5, max_hold_s=60)
