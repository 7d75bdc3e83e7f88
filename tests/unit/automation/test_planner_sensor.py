"""The planner sensor against an ephemeral instance: it reads data times and requests one run."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pytest

from analytics_platform.automation import datatime
from analytics_platform.automation.conditions import with_planner_condition
from analytics_platform.automation.datatime import DATA_TIME_METADATA_KEY
from analytics_platform.automation.explain import (
    DEADLINE_KEY,
    DECISION_KEY,
    OLDEST_UNREFLECTED_KEY,
)
from analytics_platform.automation.planner_sensor import (
    CHECKS_TRIGGER,
    build_planner_sensor,
    planner_graph,
)
from analytics_platform.automation.policy import POLICY_METADATA_KEY
from analytics_platform.automation.selection import ON_CODE, ON_UPSTREAM, REBUILD_TAG, TRIGGER_TAG

JOBS = dg.AssetKey(["fivetran", "jobs_db", "jobs"])
VIEW = dg.AssetKey(["staging", "stg_jobs"])
INT = dg.AssetKey(["intermediate", "int_jobs"])
LIVE = dg.AssetKey(["marts", "core", "fct_jobs"])
MART = dg.AssetKey(["marts", "finance", "fct_revenue"])
DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC")


def _spec(key: dg.AssetKey, deps: list[dg.AssetKey], policy: str | None) -> dg.AssetSpec:
    return dg.AssetSpec(
        key,
        deps=deps,
        kinds={"dbt"},
        tags={REBUILD_TAG: ON_CODE if policy is None else ON_UPSTREAM},
        metadata={POLICY_METADATA_KEY: policy} if policy else None,
        automation_condition=dg.AutomationCondition.eager(),
        skippable=True,
    )


SPECS = [
    _spec(VIEW, [JOBS], None),
    _spec(INT, [VIEW], "on_demand"),
    _spec(LIVE, [VIEW], "eager"),
    _spec(MART, [INT], "freshness: 30m/60m"),
]


@dg.multi_asset(specs=SPECS, can_subset=True)
def build(context: dg.AssetExecutionContext) -> Iterator[Any]:
    """Stands in for the dbt op."""
    stamp = datatime.run_metadata(context)
    outputs = (
        dg.Output(None, output_name=key.to_python_identifier())
        for key in [VIEW, INT, LIVE, MART]
        if key in context.selected_asset_keys
    )
    yield from datatime.stamped(context, outputs, stamp)


def _sync(instance: dg.DagsterInstance, at: datetime) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(JOBS, metadata={datatime.SYNC_COMPLETED_KEY: at.isoformat()})
    )


def _tick(instance: dg.DagsterInstance, time_scale: float = 1.0) -> dg.SensorResult:
    sensor = build_planner_sensor(
        SPECS, partitioned=set(), partitions_def=DAILY, run_tags={}, time_scale=time_scale
    )
    result = sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SensorResult)
    return result


def test_the_graph_resolves_views_and_keeps_planned_assets() -> None:
    graph = planner_graph(SPECS)
    assert set(graph.policies) == {INT, LIVE, MART}
    assert graph.sources[MART] == {JOBS} and graph.deps[MART] == {INT}
    assert graph.connectors == {JOBS}


def test_a_sync_rebuilds_the_eager_mart_now_and_the_freshness_mart_by_its_deadline() -> None:
    instance = dg.DagsterInstance.ephemeral()
    now = datetime.now(UTC)
    _sync(instance, now - timedelta(minutes=70))
    dg.materialize([build], instance=instance, selection=[INT, LIVE, MART])
    assert _tick(instance).run_requests in ([], None)  # everything reflects that sync

    _sync(instance, now - timedelta(seconds=5))
    result = _tick(instance)
    assert result.run_requests is not None and len(result.run_requests) == 1
    request = result.run_requests[0]
    assert set(request.asset_selection or []) == {LIVE}
    assert request.tags[TRIGGER_TAG] == "planner"

    # Windows scaled down (a daemon test's setting): the mart's deadline is near, it joins
    # with the stale intermediate it reads, in the same one run.
    scaled = _tick(instance, time_scale=0.005)
    assert scaled.run_requests is not None
    assert set(scaled.run_requests[0].asset_selection or []) == {LIVE, INT, MART}

    dg.materialize([build], instance=instance, selection=[LIVE])
    assert _tick(instance).run_requests in ([], None)


def test_planner_mode_conditions_only_build_what_is_missing() -> None:
    conditioned = with_planner_condition(SPECS[3])
    assert conditioned.automation_condition is not None
    assert "first build" in (conditioned.automation_condition.get_label() or "")
    assert with_planner_condition(SPECS[0]).automation_condition == SPECS[0].automation_condition


CHECK = dg.AssetCheckKey(MART, "relationships_fct_revenue_customer_id")


@dg.multi_asset(
    specs=SPECS, can_subset=True, check_specs=[dg.AssetCheckSpec(CHECK.name, asset=MART)]
)
def build_skipping_checks(context: dg.AssetExecutionContext) -> Iterator[Any]:
    """The dbt op of a sync's run: the relationship test is skipped (its other model not built)."""
    stamp = datatime.run_metadata(context)
    outputs = (
        dg.Output(None, output_name=key.to_python_identifier())
        for key in [VIEW, INT, LIVE, MART]
        if key in context.selected_asset_keys
    )
    yield from datatime.stamped(context, outputs, stamp)


class _Fivetran:
    """The ``fivetran`` resource: jobs_db syncs every 15 minutes, the last one 10 minutes ago."""

    def __init__(self, succeeded: datetime) -> None:
        self.succeeded = succeeded

    def get_client(self) -> "_Fivetran":
        return self

    def get_groups(self) -> dict[str, Any]:
        return {"items": [{"id": "group"}]}

    def list_connectors_for_group(self, group_id: str) -> list[dict[str, Any]]:
        return [
            {
                "id": "jobs_db",
                "succeeded_at": self.succeeded.isoformat(),
                "sync_frequency": 15,
                "schedule_type": "auto",
                "paused": False,
            }
        ]


def _planner_tick(
    instance: dg.DagsterInstance,
    time_scale: float = 1.0,
    cursor: str | None = None,
    fivetran: _Fivetran | None = None,
) -> dg.SensorResult:
    sensor = build_planner_sensor(
        SPECS,
        partitioned=set(),
        partitions_def=DAILY,
        run_tags={},
        time_scale=time_scale,
        checks={MART: frozenset({CHECK})},
        connector_tables={"jobs_db": frozenset({JOBS})} if fivetran else None,
    )
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"fivetran": fivetran} if fivetran else None
    )
    result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def _decisions(result: dg.SensorResult) -> dict[dg.AssetKey, str]:
    return {
        event.asset_key: str(event.metadata[DECISION_KEY].value)
        for event in result.asset_events or []
        if isinstance(event, dg.AssetObservation)
    }


def test_the_ui_gets_an_observation_only_when_an_assets_deadline_changes() -> None:
    instance = dg.DagsterInstance.ephemeral()
    now = datetime.now(UTC)
    _sync(instance, now - timedelta(minutes=70))
    dg.materialize([build], instance=instance, selection=[INT, LIVE, MART])
    first = _planner_tick(instance)
    assert set(_decisions(first)) == {INT, LIVE, MART}  # nothing reported yet: all of them
    assert _planner_tick(instance, cursor=first.cursor).asset_events in ([], None)

    _sync(instance, now - timedelta(seconds=5))
    changed = _planner_tick(instance, cursor=first.cursor)
    decisions = _decisions(changed)
    assert set(decisions) == {INT, LIVE, MART}  # each has an unreflected sync now
    mart = next(e for e in changed.asset_events or [] if e.asset_key == MART)
    assert isinstance(mart, dg.AssetObservation)
    assert mart.metadata[OLDEST_UNREFLECTED_KEY].value == pytest.approx(
        (now - timedelta(seconds=5)).timestamp()
    )
    assert mart.metadata[DEADLINE_KEY].value == pytest.approx(
        (now + timedelta(minutes=30) - timedelta(seconds=5)).timestamp()
    )
    assert DATA_TIME_METADATA_KEY not in mart.metadata  # never taken for a build's data time
    assert _planner_tick(instance, cursor=changed.cursor).asset_events in ([], None)


def test_a_freshness_asset_names_the_scheduled_sync_it_waits_for() -> None:
    instance = dg.DagsterInstance.ephemeral()
    now = datetime.now(UTC)
    _sync(instance, now - timedelta(minutes=70))
    dg.materialize([build], instance=instance, selection=[INT, LIVE, MART])
    _sync(instance, now - timedelta(seconds=5))
    result = _planner_tick(instance, fivetran=_Fivetran(now - timedelta(minutes=10)))
    next_sync = (now + timedelta(minutes=5)).strftime("%H:%M")
    assert f"for the {next_sync}" in _decisions(result)[MART]
    assert "jobs sync" in _decisions(result)[MART]


def test_checks_left_behind_run_alone_when_their_window_runs_out() -> None:
    instance = dg.DagsterInstance.ephemeral()
    _sync(instance, datetime.now(UTC) - timedelta(minutes=70))
    dg.materialize([build_skipping_checks], instance=instance, selection=[INT, LIVE, MART])
    # Current, and the check's window (30 min after the build) is far: nothing to do.
    assert _planner_tick(instance).run_requests in ([], None)
    # Windows scaled to seconds: the window runs out, the check runs in a run of its own.
    result = _planner_tick(instance, time_scale=0.01)
    [request] = result.run_requests or []
    assert request.asset_selection == [] and list(request.asset_check_keys or []) == [CHECK]
    assert request.tags[TRIGGER_TAG] == CHECKS_TRIGGER


def test_checks_left_behind_join_the_next_due_run() -> None:
    instance = dg.DagsterInstance.ephemeral()
    now = datetime.now(UTC)
    _sync(instance, now - timedelta(minutes=70))
    dg.materialize([build_skipping_checks], instance=instance, selection=[INT, LIVE, MART])
    _sync(instance, now - timedelta(seconds=5))
    [request] = _planner_tick(instance).run_requests or []
    assert set(request.asset_selection or []) == {LIVE}  # the eager mart is due
    assert list(request.asset_check_keys or []) == [CHECK]
    # Once evaluated after the build, the check is no longer owed.
    instance.report_runless_asset_event(dg.AssetCheckEvaluation(MART, CHECK.name, passed=True))
    dg.materialize([build], instance=instance, selection=[LIVE])
    assert _planner_tick(instance).run_requests in ([], None)
