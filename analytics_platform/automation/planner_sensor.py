"""``automation__planner``: the one sensor that decides every rebuild caused by data.

Each tick reads the instance and nothing else (restart-safe: no cursor is needed):

* landed syncs: the connector tables' recent materializations (their sync's ``succeeded_at``);
* each planned asset's data time: its newest build's ``fieldforce/data_time``
  (:mod:`.datatime`);
* expected build time: from the request of the run that last built it to its materialization;
* failures: planner runs that failed after its last build (consecutive, with the last one's end);
* in progress: the assets of queued and running runs.

* expected syncs: Fivetran's schedule of each connector (:mod:`.expected`), once per tick;
* checks not run since each asset's latest build (:func:`.owed_checks.plan_checks`).

It calls :func:`.planner.plan`, logs every decision that is not "current" (the tick history
shows why each asset was built or left; :mod:`.explain`), and requests the plan's run as ONE run with the
warehouse's tags and ``fieldforce/trigger=planner``, with the checks left behind by earlier
runs added; when no run is due and an asset's window for its checks runs out, a checks-only
run. For the UI, an asset whose oldest unreflected sync or deadline changed gets an
observation saying so (not every tick: the cursor keeps what was last reported; losing it
only reports again). ``time_scale`` multiplies every window, the margin and the backoff, so a
daemon test of the planner takes minutes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import dagster as dg

from analytics_platform.automation.datatime import latest_data_time, resolved_reads, sync_time
from analytics_platform.automation.expected import expected_syncs, fetch_connectors
from analytics_platform.automation.explain import (
    log_decisions,
    ui_observations,
)
from analytics_platform.automation.owed_checks import (
    ChecksPlan,
    plan_checks,
    read_check_states,
)
from analytics_platform.automation.planner import AssetState, Plan, plan
from analytics_platform.automation.policy import (
    Freshness,
    Policy,
    policy_of,
)
from analytics_platform.automation.selection import TRIGGER_TAG

PLANNER_TRIGGER = "planner"
PLANNER_TICK_S = 5
"""The sensor's interval, and the tick the planner assumes before its next chance: the
daemon's sensor loop runs at most every 5 s, and an eager mart's latency starts with it."""
PLANNER_MARGIN_S = 60.0
"""Safety margin before a deadline (scaled with the windows)."""
DEFAULT_BUILD_S = 60.0
"""Expected build time of an asset never built (learned from its builds afterwards)."""
LANDED_LOOKBACK_S = 6 * 3600.0
"""How far back landed syncs are read: older ones are long past any window (scaled)."""
CHECK_WINDOW_S = 1800.0
"""Within how long after a build an asset without a freshness window has all checks run (scaled)."""
CHECKS_TRIGGER = "planner-checks"
"""The trigger tag of a checks-only run (a failed one is no failed build of any asset)."""
ACTIVE_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
"""Runs that are in flight: their assets are not planned again until they end."""


@dataclass(frozen=True)
class Graph:
    """The planned assets, their policies, sources and planned deps (from the specs)."""

    policies: Mapping[dg.AssetKey, Policy]
    sources: Mapping[dg.AssetKey, frozenset[dg.AssetKey]]
    deps: Mapping[dg.AssetKey, frozenset[dg.AssetKey]]
    connectors: frozenset[dg.AssetKey]


def scaled(policy: Policy, time_scale: float) -> Policy:
    """A freshness policy with both windows multiplied (others unchanged)."""
    if isinstance(policy, Freshness) and time_scale != 1.0:
        return Freshness(
            timedelta(seconds=policy.warn.total_seconds() * time_scale),
            timedelta(seconds=policy.fail.total_seconds() * time_scale),
        )
    return policy


def planner_graph(specs: Sequence[dg.AssetSpec], time_scale: float = 1.0) -> Graph:
    """What the planner needs of the asset graph: policies, sources and planned deps."""
    dbt_specs = [spec for spec in specs if "dbt" in spec.kinds]
    reads = resolved_reads(dbt_specs)
    dbt_keys = {spec.key for spec in dbt_specs}
    policies = {
        spec.key: scaled(policy, time_scale)
        for spec in dbt_specs
        if (policy := policy_of(spec)) is not None and spec.key in reads
    }
    connectors = frozenset(up for ups in reads.values() for up in ups if up not in dbt_keys)

    def upstream(key: dg.AssetKey) -> set[dg.AssetKey]:
        seen: set[dg.AssetKey] = set()
        todo = list(reads.get(key, ()))
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(reads.get(current, ()))
        return seen

    sources = {key: frozenset(upstream(key) & connectors) for key in policies}
    deps = {key: frozenset(reads.get(key, frozenset()) & set(policies)) for key in policies}
    return Graph(policies, sources, deps, connectors)


def read_states(
    instance: dg.DagsterInstance, graph: Graph, now: float, lookback_s: float
) -> tuple[dict[dg.AssetKey, AssetState], dict[dg.AssetKey, list[float]]]:
    """The planner's inputs from the instance: each asset's state, and the landed syncs."""
    # One query for every asset's newest materialization; history only where it is recent.
    newest = {
        record.asset_entry.asset_key: record.asset_entry.last_materialization_record
        for record in instance.get_asset_records([*graph.connectors, *graph.policies])
    }
    landed: dict[dg.AssetKey, list[float]] = {}
    for key in graph.connectors:
        last = newest.get(key)
        if last is None or last.timestamp < now - lookback_s:
            landed[key] = []
            continue
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_timestamp=now - lookback_s), limit=100
        ).records
        landed[key] = sorted(sync_time(record.event_log_entry) for record in records)
    active: set[dg.AssetKey] = set()
    for run in instance.get_runs(dg.RunsFilter(statuses=ACTIVE_STATUSES)):
        active |= set(run.asset_selection or ())
    # Failed builds of any run (the planner's, or a first build's condition run): a failed
    # first build is then the planner's to retry, with the same backoff. Checks-only runs
    # build nothing, so their failure is no failed build.
    failed = [
        record
        for record in instance.get_run_records(
            dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]), limit=50
        )
        if record.dagster_run.tags.get(TRIGGER_TAG) != CHECKS_TRIGGER
    ]
    requested_at: dict[str, float | None] = {}
    states: dict[dg.AssetKey, AssetState] = {}
    for key, policy in graph.policies.items():
        last = newest.get(key)
        materialization = last.event_log_entry if last is not None else None
        latest = latest_data_time(instance, key, materialization)
        built_at = latest[0] if latest else None
        expected = DEFAULT_BUILD_S
        if materialization is not None and materialization.run_id:
            # From the run's request to this asset's materialization: the queue, the launch and
            # the build before it, all of which a deadline has to allow for.
            run_id = materialization.run_id
            if run_id not in requested_at:
                record = instance.get_run_record_by_id(run_id)
                requested_at[run_id] = record.create_timestamp.timestamp() if record else None
            created = requested_at[run_id]
            if created is not None and materialization.timestamp > created:
                expected = materialization.timestamp - created
        failures = [
            record.end_time or record.update_timestamp.timestamp()
            for record in failed
            if key in (record.dagster_run.asset_selection or ())
            and (record.end_time or 0.0) > (built_at or 0.0)
        ]
        states[key] = AssetState(
            key=key,
            policy=policy,
            sources=graph.sources[key],
            deps=graph.deps[key],
            data_time=latest[1] if latest else {},
            expected_build_s=max(expected, 1.0),
            failures=len(failures),
            last_failure_at=max(failures) if failures else None,
            in_progress=key in active,
            built=materialization is not None or latest is not None,
        )
    return states, landed


def check_windows(graph: Graph, time_scale: float) -> dict[dg.AssetKey, float]:
    """Per planned asset, within how long after a build all its checks must have run."""
    return {
        key: (
            policy.warn.total_seconds()
            if isinstance(policy, Freshness)
            else CHECK_WINDOW_S * time_scale
        )
        for key, policy in graph.policies.items()
    }


def build_planner_sensor(
    specs: Sequence[dg.AssetSpec],
    partitioned: set[dg.AssetKey],
    partitions_def: dg.TimeWindowPartitionsDefinition,
    run_tags: Mapping[str, str],
    time_scale: float = 1.0,
    checks: Mapping[dg.AssetKey, frozenset[dg.AssetCheckKey]] | None = None,
    connector_tables: Mapping[str, frozenset[dg.AssetKey]] | None = None,
) -> dg.SensorDefinition:
    """The planner's sensor over the planned assets of ``specs``.

    Args:
        specs: every asset spec of the code location (policies from their declarations).
        partitioned: the partitioned assets; a run including any is for their latest partition.
        partitions_def: the partitions of the partitioned assets.
        run_tags: tags of every run requested (the warehouse's one-at-a-time tag).
        time_scale: multiplies windows, margin and backoff (tests shorten them).
        checks: per asset, its asset checks (dbt tests); none: checks are not planned.
        connector_tables: connector id -> the tables it lands; given, the sensor reads
            Fivetran's schedule (the ``fivetran`` resource) for the syncs it may wait for.
    """
    graph = planner_graph(specs, time_scale)
    targets = sorted(graph.policies, key=str)
    margin_s = max(PLANNER_MARGIN_S * time_scale, float(PLANNER_TICK_S))
    checks = {key: found for key, found in (checks or {}).items() if key in graph.policies}
    windows = check_windows(graph, time_scale)
    tables = dict(connector_tables or {})
    owned = {key for keys in tables.values() for key in keys}
    shared = frozenset(key for key in graph.connectors - owned if "fivetran_metadata" in key.path)

    @dg.sensor(
        name="automation__planner",
        description=(
            "The SLA planner: each tick, the assets whose policy (eager, freshness) needs a build"
            " now, with the stale tables they read, as one run; every decision is logged."
        ),
        minimum_interval_seconds=PLANNER_TICK_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        target=dg.AssetSelection.assets(*targets),
        required_resource_keys={"fivetran"} if tables else None,
    )
    def planner(context: dg.SensorEvaluationContext, **_resources: Any) -> dg.SensorResult:
        # Resources are read from the context (``fivetran`` only when connector tables are given).
        now = time.time()
        lookback = LANDED_LOOKBACK_S * max(time_scale, 0.05)
        states, landed = read_states(context.instance, graph, now, lookback)
        decided = plan(
            now,
            states,
            landed,
            _expected(context, tables, shared, now),
            float(PLANNER_TICK_S),
            margin_s,
            backoff_base_s=60.0 * time_scale,
            backoff_max_s=900.0 * time_scale,
        )
        log_decisions(context, decided, graph.policies)
        cursor = json.loads(context.cursor) if context.cursor else {}
        events, cursor["reported"] = ui_observations(
            decided, graph.policies, cursor.get("reported", {})
        )
        checked = _plan_checks(context, decided, checks, windows, now, margin_s)
        requests = _run_requests(decided, checked, checks, partitioned, partitions_def, run_tags)
        return dg.SensorResult(
            run_requests=requests,
            asset_events=events,
            cursor=json.dumps(cursor, sort_keys=True),
            skip_reason=None if requests else "nothing due (see the tick's log for each asset)",
        )

    return planner


def _expected(
    context: dg.SensorEvaluationContext,
    tables: Mapping[str, frozenset[dg.AssetKey]],
    shared: frozenset[dg.AssetKey],
    now: float,
) -> dict[dg.AssetKey, float]:
    """Expected syncs from Fivetran's schedule; none when the API does not answer this tick."""
    if not tables:
        return {}
    try:
        connectors = fetch_connectors(context.resources.fivetran.get_client())
    except Exception as exc:  # the schedule only explains a wait: never fail the tick on it
        context.log.warning("Fivetran schedule not read this tick: %s", exc)
        return {}
    return expected_syncs(connectors, tables, shared, now)


def _plan_checks(
    context: dg.SensorEvaluationContext,
    decided: Plan,
    checks: Mapping[dg.AssetKey, frozenset[dg.AssetCheckKey]],
    windows: Mapping[dg.AssetKey, float],
    now: float,
    margin_s: float,
) -> ChecksPlan:
    """The checks left behind to run with this tick's run or in a checks-only run."""
    if not checks:
        return ChecksPlan(frozenset(), False, {})
    active: set[dg.AssetCheckKey] = set()
    for run in context.instance.get_runs(dg.RunsFilter(statuses=ACTIVE_STATUSES)):
        active |= set(run.asset_check_selection or ())
    states = read_check_states(context.instance, checks, windows, frozenset(active))
    checked = plan_checks(now, states, decided.run, float(PLANNER_TICK_S), margin_s)
    for key in sorted(checked.reasons, key=str):
        verb = "CHECK" if checked.checks else "leave"
        context.log.info("%s %s: %s", verb, key.to_user_string(), checked.reasons[key])
    return checked


def _run_requests(
    decided: Plan,
    checked: ChecksPlan,
    checks: Mapping[dg.AssetKey, frozenset[dg.AssetCheckKey]],
    partitioned: set[dg.AssetKey],
    partitions_def: dg.TimeWindowPartitionsDefinition,
    run_tags: Mapping[str, str],
) -> list[dg.RunRequest]:
    """The tick's one run: the plan's assets (their checks, plus those left behind), or checks."""
    if decided.run:
        selection = sorted(decided.run, key=str)
        partition_key = (
            partitions_def.get_last_partition_key()
            if any(key in partitioned for key in selection)
            else None
        )
        # Naming checks replaces the default (every check of the selected assets): keep those.
        with_checks = (
            sorted({c for key in selection for c in checks.get(key, ())} | checked.checks, key=str)
            if checked.checks
            else None
        )
        return [
            dg.RunRequest(
                asset_selection=selection,
                asset_check_keys=with_checks,
                partition_key=partition_key,
                tags={**run_tags, TRIGGER_TAG: PLANNER_TRIGGER},
            )
        ]
    if checked.checks and checked.checks_only:
        return [
            dg.RunRequest(
                asset_selection=[],
                asset_check_keys=sorted(checked.checks, key=str),
                tags={**run_tags, TRIGGER_TAG: CHECKS_TRIGGER},
            )
        ]
    return []
