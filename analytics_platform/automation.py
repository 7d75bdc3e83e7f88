"""Automation: what rebuilds when, and the sensors that decide it.

The rules (STYLE guide, after TEAMSchools/teamster):

* a sync that lands data rebuilds, in **one run**, every table downstream of the changed
  connector tables (:func:`build_sync_sensor`). Staging views are looked *through*, never
  rebuilt: a view reads its upstream at query time, so rebuilding it after a sync would be
  wasted warehouse work;
* staging views rebuild only when missing or when their SQL changes;
* tables and incrementals rebuild when a dbt upstream updates outside a sync's run (a
  materialization from the UI, a code change upstream), and are built when missing;
* reports with a schedule in the SDD (``meta.dagster.cron``) run on that cron.

Why a sensor of our own for syncs, rather than ``eager()``. Automation puts the assets it
requests in one tick into one run *per partition*, so a sync that reaches the daily facts
becomes three runs one after another (tables, the facts' latest partition, the reports above
them): three run launches on the path from a sync to its marts. And vanilla ``eager()`` absorbs
an update that lands while the downstream run is executing (KNOWN_GROUND;
dagster-io/dagster#24650). The sync sensor asks for one explicit run per batch of landed syncs
(unpartitioned tables plus the facts' latest partition are a valid single run), and it keeps a
per-table cursor of the newest materialization it has acted on, so a sync that lands while a
rebuild runs is simply the next batch: a second run, queued behind the first (dbt runs never
overlap on the warehouse), that reads the new data. :func:`build_catch_up_sensor` stays as the
state-based safety net for everything else: it compares each table's last *run start* with the
newest materialization of what it reads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import dagster as dg

STAGING_VIEWS = dg.AssetSelection.groups("staging")
"""Pass-through views: an update of their source is an update of the view's data."""
CONNECTOR_TABLES = dg.AssetSelection.kind("fivetran", include_sources=True)
"""What syncs land: their updates are the sync sensor's, never the conditions'."""

REBUILD_TAG = "fieldforce/rebuild"
"""Asset tag that states each dbt asset's rebuild rule, so sensors and the UI can read it."""
ON_UPSTREAM = "upstream"
"""Tables, incrementals and snapshots: rebuilt when something they read changes."""
ON_CODE = "code"
"""Views: rebuilt when missing or when their SQL changes."""
ON_CRON = "cron"
"""Scheduled reports: rebuilt on their cron."""


def upstream_updated() -> dg.AutomationCondition:
    """A dbt dependency updated, or a staging view's dbt source did (views pass data through).

    Connector tables are ignored: a sync's rebuild is the sync sensor's single run, and an
    eager reaction to the same report would build the same tables a second time.
    """
    updated = dg.AutomationCondition.any_deps_updated().ignore(CONNECTOR_TABLES)
    through_views = dg.AutomationCondition.any_deps_match(updated).allow(STAGING_VIEWS)
    return (updated | through_views).with_label("a dbt upstream updated (through views)")


def deps_missing() -> dg.AutomationCondition:
    """A dependency (its latest partition, for a partitioned one) is missing and not requested.

    ``any_deps_missing()`` counts every unbuilt partition of a partitioned dependency, and
    automation only ever builds a fact's latest partition (history is a backfill's job), so a
    report over a daily fact would wait forever for its first build.
    """
    return dg.AutomationCondition.any_deps_match(
        dg.AutomationCondition.missing()
        & dg.AutomationCondition.in_latest_time_window()
        & ~dg.AutomationCondition.will_be_requested()
    ).with_label("any deps missing (latest partition)")


def waits_for_another_run(
    partitioned: dg.AssetSelection | None, is_partitioned: bool
) -> dg.AutomationCondition:
    """An update is on its way through a dependency that builds in a run of its own.

    Automation puts everything requested in one tick into one run *per partition*, so a daily
    fact never shares a run with the unpartitioned tables around it. Requested in the same
    tick, the two runs could go in any order (the fact reading the old table, then building
    again), and a report over both a fact and an independently synced table would build once
    before the fact and once after it. So an asset waits while a dependency that builds in
    another run has an upstream update it has not handled yet (``will_be_requested`` cannot
    say this: it only sees requests that share the asking asset's run):

    * a partitioned asset waits for its table dependencies (views never rebuild on updates);
    * an unpartitioned one waits for its partitioned dependencies.
    """
    pending = (
        dg.AutomationCondition.in_latest_time_window() & upstream_updated().since_last_handled()
    )
    if is_partitioned:
        return (
            dg.AutomationCondition.any_deps_match(pending)
            .ignore(STAGING_VIEWS)
            .with_label("a table it reads is about to rebuild")
        )
    if partitioned is None:
        return dg.AutomationCondition.any_deps_match(pending).allow(dg.AssetSelection.assets())
    return (
        dg.AutomationCondition.any_deps_match(pending)
        .allow(partitioned)
        .with_label("a partitioned fact it reads is about to rebuild")
    )


def table_condition(
    partitioned: dg.AssetSelection | None = None, is_partitioned: bool = False
) -> dg.AutomationCondition:
    """Eager over updates seen through views, plus a first build of missing tables.

    The first-build clause exists because ``eager()`` never builds a never-materialized asset
    whose upstream already existed when the condition was first evaluated (KNOWN_GROUND).

    Args:
        partitioned: the partitioned assets of the graph (they build in runs of their own).
        is_partitioned: whether this asset is one of them.
    """
    waits = waits_for_another_run(partitioned, is_partitioned)
    eager_through_views = (
        dg.AutomationCondition.in_latest_time_window()
        & (dg.AutomationCondition.newly_missing() | upstream_updated()).since_last_handled()
        & ~deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
        & ~waits
    ).with_label("eager (through views)")
    first_build = (
        dg.AutomationCondition.in_latest_time_window()
        & dg.AutomationCondition.missing()
        & ~deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
        & ~dg.AutomationCondition.execution_failed()
        & ~waits
    ).with_label("first build")
    return (eager_through_views | first_build).with_label("table: upstream updated or missing")


def view_condition() -> dg.AutomationCondition:
    """Views: build when missing or when their code version (the SQL checksum) changes."""
    return (
        (
            dg.AutomationCondition.missing()
            | dg.AutomationCondition.code_version_changed().since_last_handled()
        )
        & ~deps_missing()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("view: missing or code changed")


def cron_condition(cron: str, timezone: str) -> dg.AutomationCondition:
    """Scheduled reports: once per cron tick, after their upstreams updated since the tick."""
    return dg.AutomationCondition.on_cron(cron, timezone)


# ---------------------------------------------------------------------------------------------
# The safety net: never drop an update
# ---------------------------------------------------------------------------------------------

CATCH_UP_GRACE_S = 60.0
"""How long an upstream update is left to eager before the safety net may act on it."""

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
    """When the run that produced that materialization started (None: external report)."""
    run_id: str | None = None
    """The run that produced it: an upstream built in the same run was read after it."""


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


def build_catch_up_sensor(
    reads: Mapping[dg.AssetKey, Sequence[dg.AssetKey]],
    partitioned: set[dg.AssetKey],
    partitions_def: dg.TimeWindowPartitionsDefinition,
    minimum_interval_seconds: int = 10,
    grace_s: float = CATCH_UP_GRACE_S,
) -> dg.SensorDefinition:
    """The state-based safety net that rebuilds any table that missed an upstream update."""
    targets = sorted(reads, key=str)
    watched = sorted({key for ups in reads.values() for key in ups} | set(targets), key=str)

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
        states: dict[dg.AssetKey, AssetState] = {}
        for key in watched:
            event = instance.get_latest_materialization_event(key)
            if event is None:
                continue
            start = None
            if event.run_id:
                record = instance.get_run_record_by_id(event.run_id)
                start = record.start_time if record else None
            states[key] = AssetState(
                last_update=event.timestamp, last_run_start=start, run_id=event.run_id or None
            )
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
            requests.append(
                dg.RunRequest(
                    asset_selection=plain,
                    tags={"fieldforce/trigger": "catch-up", "fieldforce/warehouse": "dbt"},
                )
            )
        parts = [key for key in roots if key in partitioned]
        if parts:
            requests.append(
                dg.RunRequest(
                    asset_selection=parts,
                    partition_key=partitions_def.get_last_partition_key(),
                    tags={"fieldforce/trigger": "catch-up", "fieldforce/warehouse": "dbt"},
                )
            )
        return dg.SensorResult(run_requests=requests)

    return catch_up


# ---------------------------------------------------------------------------------------------
# One run per sync
# ---------------------------------------------------------------------------------------------

SYNC_QUIET_S = 0.5
"""A batch of reports is acted on once its newest is this old.

The webhook receiver already holds a sync's reports until no other sync is in flight and posts
them in one burst, ~50 ms apart; the polling sensor records a tick's reports at once. Half a
second of quiet keeps one burst in one run.
"""
SYNC_MAX_HOLD_S = 60.0
"""...or once its oldest is this old, however busy the connectors are."""


def sync_rebuilds(specs: Iterable[dg.AssetSpec]) -> dict[dg.AssetKey, frozenset[dg.AssetKey]]:
    """For each connector table, the dbt assets a sync of it rebuilds.

    The walk goes down through views (they pass the new data through without a rebuild) and
    through rebuilt tables (their data changes with the sync), and stops at anything else: a
    scheduled report, say, changes on its cron, not with the sync.
    """
    specs = list(specs)
    children: dict[dg.AssetKey, set[dg.AssetKey]] = {}
    for spec in specs:
        for dep in spec.deps:
            children.setdefault(dep.asset_key, set()).add(spec.key)
    rule = {spec.key: spec.tags.get(REBUILD_TAG) for spec in specs}
    rebuilds: dict[dg.AssetKey, frozenset[dg.AssetKey]] = {}
    for spec in specs:
        if "fivetran" not in spec.kinds:
            continue
        found: set[dg.AssetKey] = set()
        seen: set[dg.AssetKey] = set()
        frontier = [spec.key]
        while frontier:
            for child in children.get(frontier.pop(), ()):
                if child in seen or rule.get(child) not in (ON_CODE, ON_UPSTREAM):
                    continue
                seen.add(child)
                frontier.append(child)
                if rule[child] == ON_UPSTREAM:
                    found.add(child)
        rebuilds[spec.key] = frozenset(found)
    return rebuilds


def sync_selection(
    rebuilds: Mapping[dg.AssetKey, Iterable[dg.AssetKey]], landed: Iterable[dg.AssetKey]
) -> set[dg.AssetKey]:
    """What one run rebuilds for a batch of landed connector tables: the union of their rebuilds."""
    return {asset for key in landed for asset in rebuilds.get(key, ())}


def sync_batch_due(
    landed_at: Iterable[float], now: float, quiet_s: float, max_hold_s: float
) -> bool:
    """Whether reports that landed at these times should be acted on now.

    A batch waits for quiet, so that the reports one receiver release posts one by one (or the
    syncs of connectors that end together) share one run, but never longer than ``max_hold_s``.
    """
    times = list(landed_at)
    if not times:
        return False
    return now - max(times) >= quiet_s or now - min(times) >= max_hold_s


def build_sync_sensor(
    rebuilds: Mapping[dg.AssetKey, frozenset[dg.AssetKey]],
    partitioned: set[dg.AssetKey],
    partitions_def: dg.TimeWindowPartitionsDefinition,
    run_tags: Mapping[str, str],
    minimum_interval_seconds: int = 1,
    quiet_s: float = SYNC_QUIET_S,
    max_hold_s: float = SYNC_MAX_HOLD_S,
) -> dg.SensorDefinition:
    """One run per batch of landed syncs: every table downstream of them, facts included.

    The cursor holds, per connector table, the storage id of the newest materialization
    already acted on. It moves only with the run request that covers those reports, so a
    report that lands while a rebuild is queued or running is the next batch (never dropped).
    ``minimum_interval_seconds`` is 1: the daemon's sensor loop runs every 5 s anyway, and an
    interval of 5 would skip every other loop whenever the previous tick started a moment late
    (a sync waiting up to 10 s instead of 5). A tick is one query of the connector tables' asset
    records.

    The first tick only records where the event log stands: a warehouse that was never built is
    the first-build condition's, and the catch-up sensor covers the rest.
    """
    connectors = sorted(rebuilds, key=str)
    targets = sorted({key for keys in rebuilds.values() for key in keys}, key=str)

    @dg.sensor(
        name="automation__sync_sensor",
        description=(
            "One run per batch of landed syncs: the tables downstream of the changed connector"
            " tables (through the staging views) and the daily facts' latest partition."
        ),
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        target=dg.AssetSelection.assets(*targets),
    )
    def sync_runs(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        acted: dict[str, int] | None = json.loads(context.cursor) if context.cursor else None
        newest: dict[dg.AssetKey, tuple[int, float]] = {}
        for record in context.instance.get_asset_records(connectors):
            entry = record.asset_entry
            if entry.last_materialization_record is not None:
                event = entry.last_materialization_record
                newest[entry.asset_key] = (event.storage_id, event.timestamp)
        current = {key.to_user_string(): storage_id for key, (storage_id, _) in newest.items()}
        if acted is None:
            return dg.SensorResult(
                skip_reason="first tick: recorded where each connector table stands",
                cursor=json.dumps(current, sort_keys=True),
            )
        landed = {
            key: at
            for key, (storage_id, at) in newest.items()
            if storage_id > acted.get(key.to_user_string(), -1)
        }
        if not landed:
            return dg.SensorResult(skip_reason="no sync landed since the last run request")
        if not sync_batch_due(landed.values(), time.time(), quiet_s, max_hold_s):
            return dg.SensorResult(skip_reason=f"waiting for quiet after {len(landed)} report(s)")
        cursor = json.dumps(
            {**acted, **{key.to_user_string(): current[key.to_user_string()] for key in landed}},
            sort_keys=True,
        )
        selection = sorted(sync_selection(rebuilds, landed), key=str)
        if not selection:
            return dg.SensorResult(
                skip_reason="nothing is downstream of the synced tables", cursor=cursor
            )
        context.log.info(
            "%d synced table(s) -> one run of %d asset(s)", len(landed), len(selection)
        )
        partition_key = (
            partitions_def.get_last_partition_key()
            if any(key in partitioned for key in selection)
            else None
        )
        request = dg.RunRequest(
            asset_selection=selection,
            partition_key=partition_key,
            tags={**run_tags, "fieldforce/trigger": "sync"},
        )
        return dg.SensorResult(run_requests=[request], cursor=cursor)

    return sync_runs
