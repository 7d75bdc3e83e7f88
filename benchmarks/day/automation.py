"""Strategy ``automation``: what this platform's declarative automation decides to build.

Its selection comes from the code location's real definitions. A tick's changed tables (the
very materializations the webhook receiver would report) become one run of what the sync
sensor selects for them (``analytics_platform.automation.sync_rebuilds``: the tables
downstream, through the views, facts included); then the automation conditions are evaluated
with ``dg.evaluate_automation_conditions`` over an instance that has received the reports and
the run's materializations, and anything they still request is built too (nothing, when the
two agree). Asset keys become dbt node names, built with the platform's own arguments
(``transform.partitions.dbt_build_args``).

The release follows the webhook receiver's ``Debouncer`` (held while a sync is in flight, then
``QUIET_S`` of quiet); the run is requested at the first sync sensor tick (every
``SENSOR_INTERVAL_S``) once the batch is ``SYNC_QUIET_S`` old. Dagster's run launches are not
added: ``bench latency`` measures that path; this replay compares what the strategies rebuild.

In the starting instance every dbt asset, every partition of the partitioned facts (the
history backfilled) and every connector table count as materialized.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from analytics_platform.automation import SYNC_QUIET_S, sync_selection
from benchmarks.day.clock import QUIET_S, SENSOR_INTERVAL_S, next_tick
from benchmarks.day.records import Run, Sync
from benchmarks.day.strategies import Strategy


@dataclass
class Automation(Strategy):
    """The platform: the sync sensor's one run per batch, then its automation conditions."""

    defs: dg.Definitions | None = None
    instance: dg.DagsterInstance | None = None
    day_start: datetime = datetime(2026, 4, 1, tzinfo=UTC)
    names: Mapping[dg.AssetKey, str] = field(default_factory=dict)
    partitioned: Mapping[dg.AssetKey, dg.PartitionsDefinition] = field(default_factory=dict)
    rebuilds: Mapping[dg.AssetKey, frozenset[dg.AssetKey]] = field(default_factory=dict)
    """The sync sensor's map: connector table -> what a sync of it rebuilds."""
    cursor: Any = None
    evaluations: list[float] = field(default_factory=list)

    def start(self, materialized: Sequence[dg.AssetKey]) -> int:
        """Everything built and landed before the day; the first evaluation. Requests made."""
        assert self.instance is not None
        for key in materialized:
            partitions = self.partitioned.get(key)
            if partitions is None:
                self.instance.report_runless_asset_event(dg.AssetMaterialization(key))
                continue
            for partition in partitions.get_partition_keys(current_time=self.day_start):
                self.instance.report_runless_asset_event(
                    dg.AssetMaterialization(key, partition=partition)
                )
        requested, _ = self._evaluate(0.0)
        return len(requested)

    def _at(self, at_s: float) -> datetime:
        return self.day_start + timedelta(seconds=at_s)

    def _build(self, at_s: float, requested: Mapping[dg.AssetKey, set[str]]) -> Run:
        """One run of the requested assets; their materializations go to the instance."""
        from analytics_platform.transform.partitions import dbt_build_args

        assert self.instance is not None
        selection = " ".join(sorted(self.names[key] for key in requested))
        run = self.execute(at_s, dbt_build_args(select=selection), selection)
        for key in run.built:
            if key in self.partitioned:
                for partition in sorted(requested.get(key, ())):
                    self.instance.report_runless_asset_event(
                        dg.AssetMaterialization(key, partition=partition)
                    )
            else:
                self.instance.report_runless_asset_event(dg.AssetMaterialization(key))
        return run

    def _evaluate(self, at_s: float) -> tuple[dict[dg.AssetKey, set[str]], float]:
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = dg.evaluate_automation_conditions(
                defs=self.defs,  # type: ignore[arg-type]
                instance=self.instance,  # type: ignore[arg-type]
                evaluation_time=self._at(at_s),
                cursor=self.cursor,
            )
        wall = time.perf_counter() - started
        self.evaluations.append(wall)
        self.cursor = result.cursor
        requested = {
            key: set(result.get_requested_partitions(key)) - {None}
            for key in self.names
            if result.get_num_requested(key)
        }
        return requested, wall  # type: ignore[return-value]

    def react(self, syncs: Sequence[Sync]) -> None:
        """Report the changed tables; the sync sensor's one run; then the conditions, if asked."""
        assert self.instance is not None
        for sync in syncs:
            for event in sync.events:
                self.instance.report_runless_asset_event(event)
        if not syncs:
            return
        # The receiver holds reports while a sync is in flight (the service runs the tick's
        # syncs back to back), then for QUIET_S of quiet; the sync sensor acts on the batch
        # at its first tick once the batch is SYNC_QUIET_S old.
        released = max(s.end_s for s in syncs) + QUIET_S
        at = next_tick(released + SYNC_QUIET_S, SENSOR_INTERVAL_S)
        landed = {
            event.asset_key
            for sync in syncs
            for event in sync.events
            if isinstance(event, dg.AssetMaterialization)
        }
        selection = sync_selection(self.rebuilds, landed)
        if selection:
            latest = {
                key: {self.partitioned[key].get_partition_keys(current_time=self._at(at))[-1]}
                for key in selection
                if key in self.partitioned
            }
            run = self._build(at, {key: latest.get(key, set()) for key in selection})
            at = next_tick(run.end_s, SENSOR_INTERVAL_S)
        # The condition sensor sees the run's materializations: it must ask for nothing more
        # (a request here is a second build of what the sync run just built).
        for _wave in range(10):
            requested, wall = self._evaluate(at)
            if not requested:
                return
            run = self._build(at + wall, requested)
            at = next_tick(run.end_s, SENSOR_INTERVAL_S)
        raise RuntimeError("automation kept requesting runs after 10 waves")
