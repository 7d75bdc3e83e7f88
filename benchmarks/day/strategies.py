"""The strategies that rebuild the project after syncs, and how each is triggered.

* ``build_all``: the whole dbt project after every sync (the per-sync baseline: a
  transformation run after each connector's sync, or a webhook per sync starting a flow). It
  runs once per sync, triggered as the sync ends; runs that find the strategy busy queue, one
  after the other, as transformations triggered per sync do on one warehouse.
* ``build_all_coalesced``: the same, once per tick after the tick's last sync has landed: syncs
  due at the same time are coalesced, as an integrated scheduler can (it waits for the
  connectors synced together, then runs the transformation once). A stronger baseline.
* ``source_plus``: ``dbt build --select source:<x>+`` for the synced connectors, fired
  ``SOURCE_PLUS_DEBOUNCE_S`` after a sync unless another sync ends first (a trailing debounce,
  blind to syncs in flight).
* ``eager``: the first wave's automation, one run of everything downstream per batch of syncs
  (``benchmarks.day.eager``);
* ``sao``: dbt's state-aware orchestration, emulated (``benchmarks.day.sao``);
* ``planner``: the SLA planner decides (``benchmarks.day.planned``).

A run starts at ``max(trigger, end of the strategy's previous run)`` and lasts its real wall
time, so the runs of one strategy queue as they would on one warehouse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg

from analytics_platform.transform.invocation import dbt_args
from benchmarks.day.clock import SOURCE_PLUS_DEBOUNCE_S, debounce
from benchmarks.day.dbt import Dbt
from benchmarks.day.records import Run, Sync

STRATEGIES = ("build_all", "source_plus", "eager", "sao", "planner")
"""The ways of running dbt after Fivetran that ``bench day`` compares by default, in the order
of the figures. ``build_all_coalesced`` (once per tick) can be added with ``--strategies``."""
ALL_STRATEGIES = ("build_all", "build_all_coalesced", "source_plus", "eager", "sao", "planner")
BUILT_TYPES = frozenset({"model", "snapshot"})
PLATFORM_SOURCE = "fivetran_metadata"
"""Every sync writes Fivetran's log/MAR/connection rows: ``source_plus`` selects their
downstream too, as a careful user of source selection would (otherwise ``pipeline_status``
never rebuilds)."""


def source_selectors(
    schemas: Sequence[str], sources: Mapping[str, str], prefixes: Mapping[str, str]
) -> list[str]:
    """The dbt sources a source-selecting handler selects for the synced connector schemas.

    Args:
        schemas: destination schemas of the synced connectors.
        sources: dbt source name -> its schema.
        prefixes: dbt source name -> tenant schema prefix (multi-tenant sources).
    """
    selected = {PLATFORM_SOURCE}
    for schema in schemas:
        for name, source_schema in sources.items():
            prefix = prefixes.get(name)
            if schema == source_schema or (prefix and schema.startswith(prefix)):
                selected.add(name)
    return sorted(selected)


@dataclass
class Strategy:
    """Schemas of its own, one dbt, and the runs it made (serialized, one at a time)."""

    name: str
    dbt: Dbt
    keys: Mapping[str, dg.AssetKey]
    runs: list[Run] = field(default_factory=list)
    busy_until: float = 0.0

    def execute(self, trigger_s: float, args: Sequence[str], selection: str) -> Run:
        """Run dbt now; place the run on the simulated clock after the strategy's last run."""
        invocation = self.dbt.build(args)
        start = max(trigger_s, self.busy_until)
        built = [
            (uid, kind, seconds)
            for uid, kind, status, seconds in invocation.nodes
            if status == "success" and uid in self.keys
        ]
        run = Run(
            trigger_s=trigger_s,
            start_s=start,
            end_s=start + invocation.wall_s,
            built=frozenset(self.keys[uid] for uid, _, _ in built),
            builds=sum(kind in BUILT_TYPES for _, kind, _ in built),
            warehouse_s=sum(seconds for _, _, _, seconds in invocation.nodes),
            model_s=sum(secs for _, kind, secs in built if kind in BUILT_TYPES),
            wall_s=invocation.wall_s,
            failed=sum(status == "error" for _, _, status, _ in invocation.nodes),
            selection=selection,
        )
        self.busy_until = run.end_s
        self.runs.append(run)
        return run

    def react(self, syncs: Sequence[Sync], until_s: float | None = None) -> None:
        """Do what the strategy does after one tick's syncs, up to ``until_s`` (the next tick)."""
        raise NotImplementedError


@dataclass
class Selective(Strategy):
    """A strategy that builds chosen tables, by dbt node name, with the platform's arguments."""

    names: Mapping[dg.AssetKey, str] = field(default_factory=dict)

    def build_keys(self, at_s: float, keys: Iterable[dg.AssetKey]) -> Run:
        """One run of ``keys`` (``transform.partitions.dbt_build_args``), placed at ``at_s``."""
        from analytics_platform.transform.partitions import dbt_build_args

        selection = " ".join(sorted(self.names[key] for key in keys))
        return self.execute(at_s, dbt_build_args(select=selection), selection)


class BuildAll(Strategy):
    """The per-sync baseline: the whole project after every sync."""

    def react(self, syncs: Sequence[Sync], until_s: float | None = None) -> None:
        """One whole-project build per sync, triggered as it ends (queued while busy)."""
        for sync in syncs:
            self.execute(sync.end_s, dbt_args("build"), "(all)")


class BuildAllCoalesced(Strategy):
    """The per-sync baseline, coalesced: the whole project once per tick."""

    def react(self, syncs: Sequence[Sync], until_s: float | None = None) -> None:
        """One whole-project build once the tick's last sync has landed."""
        if syncs:
            self.execute(max(s.end_s for s in syncs), dbt_args("build"), "(all)")


@dataclass
class SourcePlus(Strategy):
    """Source selection: ``dbt build --select source:<x>+`` per synced connector, debounced."""

    sources: Mapping[str, str] = field(default_factory=dict)
    prefixes: Mapping[str, str] = field(default_factory=dict)

    def react(self, syncs: Sequence[Sync], until_s: float | None = None) -> None:
        """One build per debounce group, selecting the groups' sources' downstream."""
        for group in debounce([s.end_s for s in syncs], SOURCE_PLUS_DEBOUNCE_S):
            names = source_selectors([syncs[i].schema for i in group], self.sources, self.prefixes)
            selection = " ".join(f"source:{name}+" for name in names)
            trigger = syncs[group[-1]].end_s + SOURCE_PLUS_DEBOUNCE_S
            self.execute(trigger, dbt_args("build", select=[selection]), selection)
