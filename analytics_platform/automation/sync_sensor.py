"""One run per batch of landed syncs: the sync sensor and what it selects.

A sensor of its own rather than ``eager()``: automation puts the assets it requests in one
tick into one run *per partition*, so a sync that reaches the daily facts would become three
runs one after another (tables, the facts' latest partition, the reports above them), three
run launches on the path from a sync to its marts. And ``eager()`` absorbs an update that
lands while the downstream run is executing. The sync sensor asks for one explicit run per
batch of landed syncs (unpartitioned tables plus the facts' latest partition are a valid
single run; that partition only launches it, the build reports the days whose rows it
changed, see :mod:`analytics_platform.transform.assets`), and it keeps a per-table cursor of
the newest materialization it has acted on, so a sync that lands while a rebuild runs is
simply the next batch: a second run, queued behind the first (dbt runs never overlap on the
warehouse), that reads the new data.

Staging views are looked *through*, never rebuilt: a view reads its upstream at query time, so
rebuilding it after a sync would be wasted warehouse work.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping

import dagster as dg

from analytics_platform.automation.selection import ON_CODE, ON_UPSTREAM, REBUILD_TAG, TRIGGER_TAG
from analytics_platform.batching import SYNC_MAX_HOLD_S, SYNC_QUIET_S, batch_due


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
    return batch_due(min(times), max(times), now, quiet_s, max_hold_s)


def _newest_materializations(
    instance: dg.DagsterInstance, connectors: Iterable[dg.AssetKey]
) -> dict[dg.AssetKey, tuple[int, float]]:
    """Storage id and timestamp of each connector table's newest materialization."""
    newest: dict[dg.AssetKey, tuple[int, float]] = {}
    for record in instance.get_asset_records(list(connectors)):
        entry = record.asset_entry
        if entry.last_materialization_record is not None:
            event = entry.last_materialization_record
            newest[entry.asset_key] = (event.storage_id, event.timestamp)
    return newest


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
    ``minimum_interval_seconds`` is below the daemon's sensor loop period: the loop bounds how
    often the sensor ticks anyway, and an interval equal to the loop's would skip every other
    loop whenever the previous tick started a moment late. A tick is one query of the connector
    tables' asset records.

    The first tick only records where the event log stands: a warehouse that was never built is
    the first-build condition's, and the catch-up sensor covers the rest.

    Args:
        rebuilds: for each connector table, what a sync of it rebuilds (:func:`sync_rebuilds`).
        partitioned: the partitioned assets; a run that includes any is launched for their
            latest partition (and reports the partitions its build changed).
        partitions_def: the partitions of the partitioned assets.
        run_tags: tags of every run the sensor requests.
        minimum_interval_seconds: the sensor's minimum interval.
        quiet_s: how old a batch's newest report is before the batch is acted on.
        max_hold_s: how old its oldest report may get, however busy the connectors are.
    """
    connectors = sorted(rebuilds, key=str)
    targets = sorted({key for keys in rebuilds.values() for key in keys}, key=str)

    @dg.sensor(
        name="automation__sync_sensor",
        description=(
            "One run per batch of landed syncs: the tables downstream of the changed connector"
            " tables (through the staging views), the daily facts among them: their build reports"
            " the days whose rows it changed."
        ),
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        target=dg.AssetSelection.assets(*targets),
    )
    def sync_runs(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        acted: dict[str, int] | None = json.loads(context.cursor) if context.cursor else None
        newest = _newest_materializations(context.instance, connectors)
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
            tags={**run_tags, TRIGGER_TAG: "sync"},
        )
        return dg.SensorResult(run_requests=[request], cursor=cursor)

    return sync_runs
