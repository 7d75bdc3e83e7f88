"""Strategy ``sao``: dbt's state-aware orchestration, emulated, with ``build_after`` tuned by search.

dbt Fusion's state-aware orchestration runs the job often and, per model in DAG order, builds it
only when an upstream has new data (a source loaded since the model's last build, or an upstream
model built since) *and* at least the model's ``build_after`` has passed since its own last build
(``updates_on: any``); otherwise it reuses the model. A model whose upstream was built earlier
in the same job sees that as new data.

The job runs when a tick's syncs are released (Fivetran's "on sync completion" trigger) and
again at the moment a model with new data becomes eligible (its last build + ``build_after``),
computed, not polled. One job at a time: a trigger while it runs starts it when it ends.

``build_after`` per model is the largest candidate that still meets 100 % of the windows of the
model and of the windowed assets downstream of it, found by a binary search per model over the
day as scheduled (every connector syncing on its cadence and changing each of its tables), the
runs lasting the recorded per-node times of the strategy's first whole build (no dbt per
candidate), with the same safety margin before each deadline as the planner's (the simulated
day's syncs and runs are not the replay's to the second: tuned to the very edge, a real day
missed about half its windows by a few seconds). Models are tuned one at a time, the others
held; both orders (upstream first, downstream first) are searched and the one with fewer
simulated builds is kept, so ``sao`` gets its best shot. Then one real replay runs with the chosen values.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg

from analytics_platform.automation.planner_sensor import PLANNER_MARGIN_S
from analytics_platform.automation.policy import Cron
from benchmarks.day.clock import TICK_MIN, due_connectors, released_at
from benchmarks.day.lineage import NEVER, DataTimes, Lineage
from benchmarks.day.metrics import windows_met
from benchmarks.day.records import Sync
from benchmarks.day.strategies import Selective

CANDIDATES_S: tuple[float, ...] = (
    *(60.0 * m for m in range(0, 61)),
    *(3600.0 * h for h in (2, 3, 4, 6, 8, 12, 24)),
)
"""``build_after`` values searched: every minute up to an hour, then a few hours up to a day."""
RUN_OVERHEAD_S = 1.0
"""A simulated job's time beyond its nodes' (dbt in process: no start-up)."""
SYNC_S = 5.0
"""A sync's duration in the schedule the search runs over (syncs of a tick run back to back)."""
SEARCH_MARGIN_S = PLANNER_MARGIN_S
"""How long before each deadline the search requires a sync reflected: the planner's margin."""

Execute = Callable[[float, list[dg.AssetKey]], tuple[float, float, frozenset[dg.AssetKey]]]
"""Run the chosen models at a time: ``(start, end, built)``."""


@dataclass
class SaoCore:
    """The emulated orchestrator: which models build at a time, and when to run next."""

    lineage: Lineage
    build_after: Mapping[dg.AssetKey, float]
    times: DataTimes
    last_build: dict[dg.AssetKey, float] = field(default_factory=dict)
    wakeups: list[float] = field(default_factory=list)
    busy_until: float = 0.0
    builds: int = 0

    @property
    def models(self) -> list[dg.AssetKey]:
        """The models it decides, upstream first (scheduled reports are their cron's)."""
        return [k for k in self.lineage.order if not isinstance(self.lineage.policies[k], Cron)]

    def _new_data(
        self, key: dg.AssetKey, now: float, done: Mapping[dg.AssetKey, Mapping[dg.AssetKey, float]]
    ) -> dict[dg.AssetKey, float] | None:
        """What a build of ``key`` now would read, if newer than what it holds; else None."""
        held = self.times.current[key]
        after = self.times.after(key, now, done)
        return after if any(at > held.get(s, NEVER) for s, at in after.items()) else None

    def _eligible_at(self, key: dg.AssetKey) -> float:
        return self.last_build.get(key, self.times.start) + self.build_after.get(key, 0.0)

    def select(self, now: float) -> list[dg.AssetKey]:
        """The models one job started at ``now`` builds, in DAG order."""
        chosen: list[dg.AssetKey] = []
        done: dict[dg.AssetKey, dict[dg.AssetKey, float]] = {}
        for key in self.models:
            after = self._new_data(key, now, done)
            if after is not None and now >= self._eligible_at(key):
                chosen.append(key)
                done[key] = after
        return chosen

    def next_eligible(self, now: float) -> float | None:
        """The first time after ``now`` a model holding back new upstream data may build."""
        later = [
            self._eligible_at(key)
            for key in self.models
            if self._eligible_at(key) > now and self._new_data(key, now, {}) is not None
        ]
        return min(later, default=None)

    def wake(self, at_s: float) -> None:
        """Run the job at ``at_s`` (or when the running one ends)."""
        heapq.heappush(self.wakeups, at_s)

    def advance(self, until_s: float, execute: Execute) -> None:
        """Run every job due before ``until_s``."""
        while self.wakeups and self.wakeups[0] < until_s:
            at = max(heapq.heappop(self.wakeups), self.busy_until)
            while self.wakeups and self.wakeups[0] <= at:
                heapq.heappop(self.wakeups)  # triggers while busy coalesce into this job
            if at >= until_s:
                self.wake(at)
                return
            chosen = self.select(at)
            if chosen:
                start, end, built = execute(at, chosen)
                self.times.apply(start, end, built)
                for key in built:
                    self.last_build[key] = start
                self.builds += len(built)
                self.busy_until = end
                at = start
            eligible = self.next_eligible(at)
            if eligible is not None:
                self.wake(max(eligible, self.busy_until))


def scheduled_day(
    frequencies: Mapping[str, int], tables_of: Mapping[str, Sequence[dg.AssetKey]], ticks: int
) -> list[Sync]:
    """The day as Fivetran's schedule says: each due connector, back to back, every table changed."""
    syncs: list[Sync] = []
    for tick in range(1, ticks + 1):
        at = tick * TICK_MIN * 60.0
        for cid in due_connectors(frequencies, tick * TICK_MIN):
            events = tuple(dg.AssetMaterialization(key) for key in tables_of.get(cid, ()))
            syncs.append(Sync(cid, cid, at, at + SYNC_S, events))
            at += SYNC_S
    return syncs


def simulate(
    lineage: Lineage,
    build_after: Mapping[dg.AssetKey, float],
    syncs: Sequence[Sync],
    node_s: Mapping[dg.AssetKey, float],
    end_s: float,
) -> tuple[DataTimes, int]:
    """``sao`` over ``syncs`` with these values, runs lasting the recorded node times.

    Returns the data times it leaves and the models it built.
    """
    times = DataTimes(lineage)
    core = SaoCore(lineage, build_after, times)
    by_tick: dict[float, list[Sync]] = {}
    for sync in syncs:
        by_tick.setdefault(sync.start_s - sync.start_s % (TICK_MIN * 60.0), []).append(sync)
    for group in by_tick.values():
        for sync in group:
            for table in sync.changed:
                times.land(table, sync.end_s)
        released = released_at([s.end_s for s in group])
        if released is not None:
            core.wake(released)

    def execute(
        at: float, chosen: list[dg.AssetKey]
    ) -> tuple[float, float, frozenset[dg.AssetKey]]:
        return at, at + RUN_OVERHEAD_S + sum(node_s.get(k, 0.0) for k in chosen), frozenset(chosen)

    core.advance(end_s, execute)
    return times, core.builds


def _met(
    lineage: Lineage, times: DataTimes, syncs: Sequence[Sync], keys: set[dg.AssetKey], end_s: float
) -> bool:
    """Whether every (sync, asset in ``keys``) pair was reflected within its window, less margin."""
    pairs = [
        (
            sync.end_s,
            times.reflected_at(key, sync.changed, sync.end_s),
            max(lineage.warn_s[key] - SEARCH_MARGIN_S, 0.0),
        )
        for sync in syncs
        for key in keys & lineage.downstream(sync.changed)
    ]
    share = windows_met(pairs, end_s)
    return share is None or share == 1.0


def search_build_after(
    lineage: Lineage,
    syncs: Sequence[Sync],
    node_s: Mapping[dg.AssetKey, float],
    end_s: float,
    candidates: Sequence[float] = CANDIDATES_S,
) -> tuple[dict[dg.AssetKey, float], int]:
    """Per model, the largest ``build_after`` keeping its and its downstream's windows at 100 %.

    Returns the values and the builds they simulate to (the better of the two tuning orders).
    """
    models = [k for k in lineage.order if not isinstance(lineage.policies[k], Cron)]
    best: tuple[dict[dg.AssetKey, float], int] | None = None
    for order in (models, list(reversed(models))):
        values = dict.fromkeys(models, 0.0)
        for key in order:
            watched = {key, *lineage.downstream([key])} & set(lineage.warn_s)
            lo, hi = 0, len(candidates) - 1  # candidates[lo] is known to pass (0 is eager)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                times, _ = simulate(lineage, values | {key: candidates[mid]}, syncs, node_s, end_s)
                if _met(lineage, times, syncs, watched, end_s):
                    lo = mid
                else:
                    hi = mid - 1
            values[key] = candidates[lo]
        _, builds = simulate(lineage, values, syncs, node_s, end_s)
        if best is None or builds < best[1]:
            best = (values, builds)
    assert best is not None
    return best


@dataclass
class Sao(Selective):
    """``sao`` for real: the chosen ``build_after`` values, real dbt builds."""

    core: SaoCore | None = None

    def react(self, syncs: Sequence[Sync], until_s: float | None = None) -> None:
        """Land the tick's syncs, wake the job at their release, run what is due before the next tick."""
        assert self.core is not None and until_s is not None
        for sync in syncs:
            for table in sync.changed:
                self.core.times.land(table, sync.end_s)
        released = released_at([sync.end_s for sync in syncs if sync.changed])
        if released is not None:
            self.core.wake(released)
        self.core.advance(until_s, self._execute)

    def _execute(
        self, at: float, chosen: list[dg.AssetKey]
    ) -> tuple[float, float, frozenset[dg.AssetKey]]:
        run = self.build_keys(at, chosen)
        return run.start_s, run.end_s, run.built
