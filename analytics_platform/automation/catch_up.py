"""The safety net that never drops an update: the catch-up sensor.

Eager automation can absorb an update that lands while the downstream run is executing: the
run finishes, the condition counts the update as handled, and the table keeps data older than
what it reads. The catch-up sensor is state-based instead: it compares each table's last *run
start* with the newest materialization of what it reads, and rebuilds the tables that read
their inputs before those inputs last changed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import dagster as dg

from analytics_platform.automation.selection import TRIGGER_TAG

CATCH_UP_GRACE_S = 60.0
"""How long an upstream update is left to eager before the safety net may act on it."""

CATCH_UP_RUN_TAGS = {"fieldforce/warehouse": "dbt"}
"""The warehouse's run tag, for the run queue's one-dbt-run-at-a-time limit."""

ACTIVE_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


@dataclass(frozen=True)
class AssetState:
    """What the safety net needs to know of one asset."""

    last_update: float | None
    """When the asset last materialized (or was reported), epoch seconds."""
    last_run_start: float | None
    """When the newest run that built it started (None: only reported from outside)."""
    run_id: str | None = None
    """That run: an upstream built in the same run was read after it."""


def stale_roots(
    reads: Mapping[dg.AssetKey, Sequence[dg.AssetKey]],
    states: Mapping[dg.AssetKey, AssetState],
    active: Iterable[dg.AssetKey],
    settled_before: float | None = None,
) -> list[dg.AssetKey]:
    """Assets that missed an upstream update and whose own upstreams are all current.

    An asset is *stale* when something it reads materialized after its last run started (that
    run may have read the older data). Only stale assets with no stale or running upstream are
    returned, so the fix-up run does not race the rebuild that an upstream will trigger anyway.

    Args:
        reads: for each automated table, the assets whose data it reads (views resolved to
            their sources).
        states: last update and last run start per asset.
        active: assets targeted by queued or running runs.
        settled_before: an asset counts only once nothing it reads updated after this time.
            Until then eager is handling the change (its sensor ticks every few seconds, and a
            chain of runs passes the change down); without this grace the net races eager and
            the same change is rebuilt by two runs.
    """
    active_set = set(active)

    def is_stale(key: dg.AssetKey) -> bool:
        state = states.get(key)
        if state is None or state.last_run_start is None:
            return False  # never built: the first-build condition owns it
        newest_read = max(
            (
                states[up].last_update or 0.0
                for up in reads.get(key, ())
                if up in states and not (state.run_id and states[up].run_id == state.run_id)
            ),
            default=0.0,
        )
        if settled_before is not None and newest_read > settled_before:
            return False  # its inputs are still moving: eager's to handle
        return newest_read > state.last_run_start

    stale = {key for key in reads if is_stale(key)}
    return sorted(
        (
            key
            for key in stale
            if key not in active_set
            and not any(up in stale or up in active_set for up in reads.get(key, ()))
        ),
        key=lambda k: k.to_user_string(),
    )


def reads_through_views(
    specs: Iterable[dg.AssetSpec], views: set[dg.AssetKey]
) -> dict[dg.AssetKey, list[dg.AssetKey]]:
    """For each non-view asset with deps, the assets it reads, with views resolved to sources."""
    deps_of = {spec.key: [dep.asset_key for dep in spec.deps] for spec in specs}

    def resolve(key: dg.AssetKey, seen: frozenset[dg.AssetKey]) -> list[dg.AssetKey]:
        if key not in views or key in seen:
            return [key]
        resolved = [key]
        for dep in deps_of.get(key, []):
            resolved += resolve(dep, seen | {key})
        return resolved

    return {
        key: sorted({up for dep in deps for up in resolve(dep, frozenset())}, key=str)
        for key, deps in deps_of.items()
        if deps and key not in views
    }


def _run_start(instance: dg.DagsterInstance, run_id: str | None) -> float | None:
    record = instance.get_run_record_by_id(run_id) if run_id else None
    return record.start_time if record else None


def _asset_states(
    instance: dg.DagsterInstance, watched: Iterable[dg.AssetKey]
) -> dict[dg.AssetKey, AssetState]:
    """Each watched asset's newest materialization and the start of the newest run that built it.

    A partitioned fact reports only the days its build changed, so a successful run may build
    it and report nothing: that run read the fact's inputs all the same. The newest of the run
    that made the materialization and the newest successful run that planned the asset counts;
    without this the net would rebuild such a fact on every tick.
    """
    states: dict[dg.AssetKey, AssetState] = {}
    for key in watched:
        event = instance.get_latest_materialization_event(key)
        if event is None:
            continue
        run_id = event.run_id or None
        start = _run_start(instance, run_id)
        planned = instance.get_latest_planned_materialization_info(key)
        if planned is not None and planned.run_id != run_id:
            record = instance.get_run_record_by_id(planned.run_id)
            if (
                record is not None
                and record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
                and record.start_time is not None
                and (start is None or record.start_time > start)
            ):
                start, run_id = record.start_time, planned.run_id
        states[key] = AssetState(last_update=event.timestamp, last_run_start=start, run_id=run_id)
    return states


def build_catch_up_sensor(
    reads: Mapping[dg.AssetKey, Sequence[dg.AssetKey]],
    partitioned: set[dg.AssetKey],
    partitions_def: dg.TimeWindowPartitionsDefinition,
    minimum_interval_seconds: int = 10,
    grace_s: float = CATCH_UP_GRACE_S,
    run_tags: Mapping[str, str] = CATCH_UP_RUN_TAGS,
) -> dg.SensorDefinition:
    """The state-based safety net that rebuilds any table that missed an upstream update.

    Args:
        reads: for each automated table, the assets it reads (views resolved to sources).
        partitioned: the partitioned assets; they are rebuilt in a run of their own, launched
            for the latest partition (the build reports the partitions it changed).
        partitions_def: the partitions of the partitioned assets.
        minimum_interval_seconds: the sensor's minimum interval.
        grace_s: how long an update is left to eager before the net acts on it.
        run_tags: tags of every run the sensor requests.
    """
    targets = sorted(reads, key=str)
    watched = sorted({key for ups in reads.values() for key in ups} | set(targets), key=str)
    tags = {**run_tags, TRIGGER_TAG: "catch-up"}

    @dg.sensor(
        name="automation__catch_up_sensor",
        description=(
            "Safety net for eager automation: rebuilds a table when something it reads "
            "materialized after its last run started (an update eager() absorbed)."
        ),
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        target=dg.AssetSelection.assets(*targets),
    )
    def catch_up(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        instance = context.instance
        states = _asset_states(instance, watched)
        active = {
            key
            for run in instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE_STATUSES))
            for key in (run.asset_selection or ())
        }
        roots = stale_roots(reads, states, active, settled_before=time.time() - grace_s)
        if not roots:
            return dg.SensorResult(skip_reason="every table has read its upstreams' latest data")
        context.log.info("rebuilding tables that missed an update: %s", roots)
        requests = []
        plain = [key for key in roots if key not in partitioned]
        if plain:
            requests.append(dg.RunRequest(asset_selection=plain, tags=tags))
        parts = [key for key in roots if key in partitioned]
        if parts:
            requests.append(
                dg.RunRequest(
                    asset_selection=parts,
                    partition_key=partitions_def.get_last_partition_key(),
                    tags=tags,
                )
            )
        return dg.SensorResult(run_requests=requests)

    return catch_up
