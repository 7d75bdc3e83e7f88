"""Strategy ``planner``: the platform's SLA planner decides every rebuild, tick by tick.

At each planner tick on the simulated clock (``tick_s`` apart, between the replay's 15-minute
ticks) the strategy builds the planner's inputs from its own bookkeeping and calls the very
``analytics_platform.automation.planner.plan`` the daemon's sensor calls:

* landed syncs: a tick's syncs reach the platform when the webhook receiver releases them
  (``QUIET_S`` after the last one: the receiver holds reports while a sync is in flight), each
  with its ``succeeded_at`` (the sync's end);
* data time per asset and connector table: ``benchmarks.day.lineage.DataTimes`` (a run reads
  what had landed when it started);
* expected syncs: each connector's next scheduled sync (its cadence), landing as late into its
  tick as its last sync did;
* expected build time: the mean wall time of the last runs that built the asset;
* failures: consecutive runs that were asked for the asset and did not build it.

It executes the one run the plan asks for (a real ``dbt build`` of those nodes, in the
strategy's own schemas) and skips ticks while that run executes (one run at a time on the one
warehouse, as every strategy here). Scheduled reports are their cron's, as in ``eager`` and
``sao``: left out of the comparison.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg

from analytics_platform.automation.planner import AssetState, plan
from analytics_platform.automation.planner_sensor import PLANNER_MARGIN_S, PLANNER_TICK_S
from analytics_platform.automation.policy import Cron
from benchmarks.day.clock import TICK_MIN, next_tick, released_at
from benchmarks.day.lineage import NEVER, DataTimes, Lineage
from benchmarks.day.records import Run, Sync
from benchmarks.day.strategies import Selective

TICK_S = float(PLANNER_TICK_S)
"""How often the planner is asked: the planner sensor's interval under the daemon."""
MARGIN_S = PLANNER_MARGIN_S
"""The planner sensor's safety margin before a deadline."""
RECENT_BUILDS = 3
"""How many recent builds the expected build time is learned from."""


def expected_landings(
    now: float,
    frequencies: Mapping[str, int],
    offsets: Mapping[str, float],
    tables_of: Mapping[str, Sequence[dg.AssetKey]],
) -> dict[dg.AssetKey, float]:
    """Per connector table, when its connector's next scheduled sync should land after ``now``.

    A connector with cadence ``f`` minutes starts at multiples of ``f``; its sync lands
    ``offsets[cid]`` seconds into that minute (as its last one did; the service runs a tick's
    syncs back to back).
    """
    found: dict[dg.AssetKey, float] = {}
    for cid, every in frequencies.items():
        if every <= 0:
            continue
        period = every * 60.0
        offset = offsets.get(cid, 0.0)
        landing = (math.floor((now - offset) / period) + 1) * period + offset
        for table in tables_of.get(cid, ()):
            found[table] = min(found.get(table, landing), landing)
    return found


@dataclass
class Planner(Selective):
    """The SLA planner over the strategy's own data times; real dbt builds of what it asks."""

    lineage: Lineage = field(default_factory=lambda: Lineage.build((), {}, {}, {}))
    times: DataTimes | None = None
    tick_s: float = TICK_S
    margin_s: float = MARGIN_S
    frequencies: Mapping[str, int] = field(default_factory=dict)
    tables_of: Mapping[str, Sequence[dg.AssetKey]] = field(default_factory=dict)
    offsets: dict[str, float] = field(default_factory=dict)
    clock: float = 0.0
    """The next planner tick."""
    pending: list[tuple[float, Sync]] = field(default_factory=list)
    """Syncs not yet released to the platform, with their release time."""
    landed: dict[dg.AssetKey, list[float]] = field(default_factory=dict)
    """Per connector table: released syncs some asset has not reflected yet."""
    walls: dict[dg.AssetKey, deque[float]] = field(default_factory=dict)
    failures: dict[dg.AssetKey, int] = field(default_factory=dict)
    last_failure: dict[dg.AssetKey, float] = field(default_factory=dict)
    plans: int = 0

    def __post_init__(self) -> None:
        """Its own data times unless given."""
        if self.times is None:
            self.times = DataTimes(self.lineage)

    @property
    def planned(self) -> list[dg.AssetKey]:
        """The assets the planner decides (scheduled reports are their cron's)."""
        return [k for k in self.lineage.order if not isinstance(self.lineage.policies[k], Cron)]

    def states(self) -> dict[dg.AssetKey, AssetState]:
        """The planner's view of every planned asset now."""
        assert self.times is not None
        states = {}
        for key in self.planned:
            walls = self.walls.get(key)
            states[key] = AssetState(
                key=key,
                policy=self.lineage.policies[key],
                sources=self.lineage.sources[key],
                deps=frozenset(up for up in self.lineage.reads[key] if up in self.lineage.policies),
                data_time={s: t for s, t in self.times.current[key].items() if t != NEVER},
                expected_build_s=sum(walls) / len(walls) if walls else 60.0,
                failures=self.failures.get(key, 0),
                last_failure_at=self.last_failure.get(key),
            )
        return states

    def release(self, now: float) -> None:
        """Syncs the receiver has released by ``now`` reach the planner."""
        assert self.times is not None
        for at, sync in list(self.pending):
            if at <= now:
                self.pending.remove((at, sync))
                for table in sync.changed:
                    self.landed.setdefault(table, []).append(sync.end_s)

    def prune(self) -> None:
        """Forget syncs every asset reading their table has reflected."""
        assert self.times is not None
        for table, ends in list(self.landed.items()):
            readers = [k for k in self.planned if table in self.lineage.sources[k]]
            oldest = min((self.times.current[k].get(table, NEVER) for k in readers), default=None)
            kept = [t for t in ends if oldest is not None and t > oldest]
            if kept:
                self.landed[table] = kept
            else:
                del self.landed[table]

    def record(self, run: Run, asked: frozenset[dg.AssetKey]) -> None:
        """Learn from a run: data times, build times, failures."""
        assert self.times is not None
        self.times.apply(run.start_s, run.end_s, run.built)
        for key in asked:
            if key in run.built:
                self.walls.setdefault(key, deque(maxlen=RECENT_BUILDS)).append(run.wall_s)
                self.failures.pop(key, None)
                self.last_failure.pop(key, None)
            else:
                self.failures[key] = self.failures.get(key, 0) + 1
                self.last_failure[key] = run.end_s
        self.prune()

    def react(self, syncs: Sequence[Sync], until_s: float | None = None) -> None:
        """Land the tick's syncs, then tick the planner up to the next replay tick."""
        assert self.times is not None and until_s is not None
        released = released_at([sync.end_s for sync in syncs])
        for sync in syncs:
            for table in sync.changed:
                self.times.land(table, sync.end_s)
            self.offsets[sync.connector_id] = sync.end_s % (TICK_MIN * 60.0)
            if released is not None and sync.changed:
                self.pending.append((released, sync))
        now = self.clock
        while now < until_s:
            if now < self.busy_until:
                now = next_tick(self.busy_until, self.tick_s)
                continue
            self.release(now)
            if self.landed:  # nothing unreflected: nothing to decide
                expected = expected_landings(now, self.frequencies, self.offsets, self.tables_of)
                decided = plan(
                    now, self.states(), self.landed, expected, self.tick_s, self.margin_s
                )
                self.plans += 1
                if decided.run:
                    self.record(self.build_keys(now, decided.run), decided.run)
            now += self.tick_s
        self.clock = now
