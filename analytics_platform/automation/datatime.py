"""Data time: which source syncs each materialization reflects, read from the instance.

At the start of a dbt run, for every asset the run builds and every connector table upstream of
it (views looked through), the data time is the ``succeeded_at`` of the newest sync landed in
that table (its newest materialization in the instance), or, when the path goes through a
table this run does not build, the data time that table's last materialization recorded; the
minimum over paths (:func:`data_time_after_build`). The run reads what had landed at
its start, so a sync landing while it runs stays unreflected and the planner sees it next tick.

Each dbt output then carries :data:`DATA_TIME_METADATA_KEY` (connector table -> ISO time) and the
declared :data:`~.policy.POLICY_METADATA_KEY`, so the UI shows both and the planner sensor reads
them back after any restart: the instance is the only state.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from analytics_platform.automation.policy import POLICY_METADATA_KEY
from analytics_platform.automation.selection import ON_CODE, REBUILD_TAG

DATA_TIME_METADATA_KEY = "fieldforce/data_time"
"""Materialization metadata: per connector table upstream, the sync (succeeded_at) it reflects."""

SYNC_COMPLETED_KEY = "fivetran/sync_completed_at"
"""A connector table's materialization metadata: its sync's succeeded_at (ingest.changes)."""


def _epoch(text: str) -> float:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat()


def sync_time(event: dg.EventLogEntry) -> float:
    """The succeeded_at of the sync a connector table's materialization reports (else its time)."""
    materialization = event.asset_materialization
    value = materialization.metadata.get(SYNC_COMPLETED_KEY) if materialization else None
    if value is not None:
        try:
            return _epoch(str(value.value if isinstance(value, dg.MetadataValue) else value))
        except ValueError:
            pass
    return event.timestamp


def recorded_data_time(event: dg.EventLogEntry | None) -> dict[dg.AssetKey, float] | None:
    """The data time a dbt materialization recorded (None: none recorded, e.g. an older build)."""
    materialization = event.asset_materialization if event else None
    value = materialization.metadata.get(DATA_TIME_METADATA_KEY) if materialization else None
    if value is None:
        return None
    raw = value.value if isinstance(value, dg.MetadataValue) else value
    if not isinstance(raw, Mapping):
        return None
    return {dg.AssetKey.from_user_string(k): _epoch(str(v)) for k, v in raw.items()}


def resolved_reads(specs: Iterable[dg.AssetSpec]) -> dict[dg.AssetKey, frozenset[dg.AssetKey]]:
    """Per dbt asset, what it reads with views looked through (connector tables and tables)."""
    by_key = {spec.key: spec for spec in specs}
    views = {key for key, spec in by_key.items() if spec.tags.get(REBUILD_TAG) == ON_CODE}
    memo: dict[dg.AssetKey, frozenset[dg.AssetKey]] = {}

    def through(key: dg.AssetKey) -> frozenset[dg.AssetKey]:
        if key not in memo:
            memo[key] = frozenset()  # guard against a cycle
            out: set[dg.AssetKey] = set()
            for dep in by_key[key].deps:
                if dep.asset_key in views:
                    out |= through(dep.asset_key)
                else:
                    out.add(dep.asset_key)
            memo[key] = frozenset(out)
        return memo[key]

    return {key: through(key) for key in by_key if key not in views}


def data_times_at_start(
    instance: dg.DagsterInstance,
    specs: Iterable[dg.AssetSpec],
    building: Iterable[dg.AssetKey],
) -> dict[dg.AssetKey, dict[dg.AssetKey, float]]:
    """Per asset a run builds, the data time it will hold (its connector tables' sync times).

    Args:
        instance: the Dagster instance (connector tables' and tables' latest materializations).
        specs: the dbt multi-asset's specs; a dep outside them is a connector table.
        building: the asset keys the run builds.
    """
    specs = list(specs)
    reads = resolved_reads(specs)
    dbt_keys = {spec.key for spec in specs}
    run = frozenset(key for key in building if key in reads)
    needed: set[dg.AssetKey] = set()
    todo = list(run)
    while todo:
        for upstream in reads.get(todo.pop(), frozenset()):
            if upstream not in needed:
                needed.add(upstream)
                if upstream in run:
                    todo.append(upstream)
    # Every connector table of the graph, so a path through a table not in the run is traced
    # to its sources; only those read directly by the run are asked of the instance.
    connectors = frozenset(up for ups in reads.values() for up in ups if up not in dbt_keys)
    newest: dict[dg.AssetKey, float] = {}
    for key in needed & connectors:
        event = instance.get_latest_materialization_event(key)
        if event is not None:
            newest[key] = sync_time(event)
    recorded: dict[dg.AssetKey, Mapping[dg.AssetKey, float]] = {}
    for key in needed - connectors - run:
        recorded[key] = recorded_data_time(instance.get_latest_materialization_event(key)) or {}
    return {
        key: data_time_after_build(key, reads, run, newest, recorded, connectors) for key in run
    }


def run_metadata(context: dg.AssetExecutionContext) -> dict[dg.AssetKey, dict[str, Any]]:
    """Per asset the dbt op builds: its ``fieldforce/data_time`` and ``fieldforce/policy``.

    Never fails the run: a build with no recorded data time is only rebuilt sooner.
    """
    specs = list(context.assets_def.specs)
    try:
        times = data_times_at_start(context.instance, specs, context.selected_asset_keys)
    except Exception as exc:  # an instance hiccup must not cost the build
        context.log.warning("data time not recorded for this run: %s", exc)
        times = {}
    metadata: dict[dg.AssetKey, dict[str, Any]] = {}
    for spec in specs:
        entry: dict[str, Any] = {}
        if spec.key in times:
            entry[DATA_TIME_METADATA_KEY] = dg.MetadataValue.json(
                {k.to_user_string(): _iso(v) for k, v in sorted(times[spec.key].items())}
            )
        policy = spec.metadata.get(POLICY_METADATA_KEY)
        if policy is not None:
            entry[POLICY_METADATA_KEY] = policy
        if entry:
            metadata[spec.key] = entry
    return metadata


def stamped(
    context: dg.AssetExecutionContext,
    events: Iterable[Any],
    metadata: Mapping[dg.AssetKey, Mapping[str, Any]],
) -> Iterator[Any]:
    """The events of a dbt run, each output/materialization with its asset's data time added.

    A daily fact whose build changed no day reports no materialization; once the whole stream
    has gone out (a failed build raises before), such an asset's data time is reported as an
    observation, so the planner does not take it for unbuilt and rebuild it again.
    """
    reported: set[dg.AssetKey] = set()
    for event in events:
        if isinstance(event, dg.Output):
            key = context.asset_key_for_output(event.output_name)
            reported.add(key)
            extra = metadata.get(key)
            yield event.with_metadata({**event.metadata, **extra}) if extra else event
        elif isinstance(event, dg.AssetMaterialization):
            reported.add(event.asset_key)
            extra = metadata.get(event.asset_key)
            yield event.with_metadata({**event.metadata, **extra}) if extra else event
        else:
            yield event
    for key in sorted(context.selected_asset_keys - reported, key=str):
        if DATA_TIME_METADATA_KEY in metadata.get(key, {}):
            yield dg.AssetObservation(asset_key=key, metadata=dict(metadata[key]))


def latest_data_time(
    instance: dg.DagsterInstance,
    key: dg.AssetKey,
    materialization: dg.EventLogEntry | None = None,
) -> tuple[float, dict[dg.AssetKey, float]] | None:
    """When the asset's newest recorded data time was reported, and that data time.

    The newest of its latest materialization (read here unless the caller has it) and its
    latest data-time observation (a fact built without a changed day). None: never built with
    a data time recorded.
    """
    found: list[tuple[float, dict[dg.AssetKey, float]]] = []
    if materialization is None:
        materialization = instance.get_latest_materialization_event(key)
    recorded = recorded_data_time(materialization)
    if materialization is not None and recorded is not None:
        found.append((materialization.timestamp, recorded))
    observations = instance.fetch_observations(key, limit=5).records
    for record in observations:
        entry = record.event_log_entry
        observation = entry.asset_observation
        value = observation.metadata.get(DATA_TIME_METADATA_KEY) if observation else None
        raw = value.value if isinstance(value, dg.MetadataValue) else None
        if isinstance(raw, Mapping):
            times = {dg.AssetKey.from_user_string(k): _epoch(str(v)) for k, v in raw.items()}
            found.append((entry.timestamp, times))
            break
    return max(found, key=lambda item: item[0]) if found else None


def data_time_after_build(
    key: dg.AssetKey,
    reads: Mapping[dg.AssetKey, frozenset[dg.AssetKey]],
    run: frozenset[dg.AssetKey],
    newest_at_start: Mapping[dg.AssetKey, float],
    recorded: Mapping[dg.AssetKey, Mapping[dg.AssetKey, float]],
    connector_tables: frozenset[dg.AssetKey],
) -> dict[dg.AssetKey, float]:
    """The data time a build of ``key`` in ``run`` will hold: min over the paths it reads.

    A connector table read directly gives its newest sync landed when the run started (the run
    reads what had landed); an upstream built in the same run gives its own data time after
    the build; any other upstream gives the data time its last build recorded. A source that
    one path has never reflected is missing (never) for the asset.

    Args:
        key: the asset built.
        reads: per asset, what it reads with views resolved (connector tables and tables).
        run: the assets the run builds.
        newest_at_start: per connector table, succeeded_at of its newest sync landed at start.
        recorded: per asset not in the run, its recorded data time.
        connector_tables: the connector tables (what syncs land).
    """
    memo: dict[dg.AssetKey, dict[dg.AssetKey, float] | None] = {}

    def of(asset: dg.AssetKey) -> dict[dg.AssetKey, float]:
        cached = memo.get(asset)
        if cached is not None:
            return cached
        memo[asset] = {}  # a cycle cannot occur in a DAG; guard anyway
        paths: list[tuple[set[dg.AssetKey], dict[dg.AssetKey, float]]] = []
        for upstream in reads.get(asset, frozenset()):
            if upstream in connector_tables:
                times = {upstream: newest_at_start[upstream]} if upstream in newest_at_start else {}
                paths.append(({upstream}, times))
            elif upstream in run:
                paths.append((_sources(upstream, reads, connector_tables), of(upstream)))
            else:
                paths.append(
                    (_sources(upstream, reads, connector_tables), dict(recorded.get(upstream, {})))
                )
        reached = set().union(*(path for path, _ in paths)) if paths else set()
        result: dict[dg.AssetKey, float] = {}
        for source in reached:
            times = [times.get(source) for path, times in paths if source in path]
            if all(t is not None for t in times):
                result[source] = min(t for t in times if t is not None)
        memo[asset] = result
        return result

    return of(key)


def _sources(
    asset: dg.AssetKey,
    reads: Mapping[dg.AssetKey, frozenset[dg.AssetKey]],
    connector_tables: frozenset[dg.AssetKey],
) -> set[dg.AssetKey]:
    """The connector tables whose data reaches ``asset``."""
    found: set[dg.AssetKey] = set()
    todo, seen = [asset], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for upstream in reads.get(current, frozenset()):
            if upstream in connector_tables:
                found.add(upstream)
            else:
                todo.append(upstream)
    return found
