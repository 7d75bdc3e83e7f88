"""The SLA planner: which assets to build now, as one run, so every sync meets its window.

Pure: no Dagster instance, no I/O, times are epoch seconds, so the daemon's sensor
(:mod:`.planner_sensor`), the unit tests and the ``day`` benchmark all run the same decisions.

The planner is state-based. It compares, per connector table upstream of an asset, the syncs
that have landed with the asset's *data time* (the newest sync its last build read). A sync
that lands while a run executes is simply still unreflected at the next call; nothing is held
between calls, so a restart (a fresh call with the same inputs) gives the same plan.

* an :class:`~.policy.Eager` asset is due as soon as a landed sync is unreflected;
* a :class:`~.policy.Freshness` asset is due when its oldest unreflected sync's deadline
  (landed + warn) would be missed by waiting one more tick plus its expected build time plus a
  margin. Until then it waits, so syncs that land meanwhile (including ones Fivetran's
  schedule says are coming) are absorbed by the same build. When a run goes anyway, it joins
  that run if the next run due anyway (an eager asset's next expected sync) comes too late;
* :class:`~.policy.OnDemand` assets are built only as stale dependencies of a due asset;
  :class:`~.policy.Cron` reports are their schedule's, not the planner's;
* a failed asset is retried once a bounded backoff after its last failure has passed;
* assets in progress are not requested again, and a due asset whose stale dependency is
  in progress or backing off waits for it rather than building on old data.

The run is the due assets plus, so they read current data, every planned dependency
(transitively) that has unreflected data too: one ``dbt build``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import dagster as dg

from analytics_platform.automation.policy import Cron, Eager, Freshness, OnDemand, Policy

BACKOFF_BASE_S = 60.0
"""Delay before the first retry of a failed build; doubled per consecutive failure."""
BACKOFF_MAX_S = 900.0
"""The backoff's bound: a failing asset is retried at least this often."""


@dataclass(frozen=True)
class AssetState:
    """What the planner knows of one planned asset."""

    key: dg.AssetKey
    policy: Policy
    sources: frozenset[dg.AssetKey]
    """Connector tables whose data reaches it (through views and tables)."""
    deps: frozenset[dg.AssetKey]
    """The planned (non-view dbt) assets it reads, views resolved."""
    data_time: Mapping[dg.AssetKey, float]
    """Per source: succeeded_at of the newest sync its last build read (missing: never)."""
    expected_build_s: float = 60.0
    """Learned from recent builds."""
    failures: int = 0
    """Consecutive failed builds."""
    last_failure_at: float | None = None
    in_progress: bool = False
    built: bool = True
    """False: never materialized. Its first build is its automation condition's (it builds a
    missing table once its deps exist), so the planner neither requests it nor builds on it."""


@dataclass(frozen=True)
class Decision:
    """Why an asset is built now or left, for the tick's log and the UI."""

    key: dg.AssetKey
    build: bool
    reason: str
    oldest_unreflected: float | None
    deadline: float | None


@dataclass(frozen=True)
class Plan:
    """One tick's outcome: the run to request (empty: none) and a decision per asset."""

    run: frozenset[dg.AssetKey]
    decisions: Mapping[dg.AssetKey, Decision]


def backoff_s(failures: int, base_s: float = BACKOFF_BASE_S, max_s: float = BACKOFF_MAX_S) -> float:
    """How long after its last failure an asset that failed ``failures`` times in a row waits."""
    if failures <= 0:
        return 0.0
    return min(base_s * 2 ** min(failures - 1, 30), max_s)


def unreflected(
    state: AssetState, landed: Mapping[dg.AssetKey, Sequence[float]]
) -> dict[dg.AssetKey, list[float]]:
    """Per source, the landed syncs newer than the asset's data time (sorted; empty omitted)."""
    pending: dict[dg.AssetKey, list[float]] = {}
    for source in state.sources:
        seen = state.data_time.get(source)
        newer = sorted(t for t in landed.get(source, ()) if seen is None or t > seen)
        if newer:
            pending[source] = newer
    return pending


def clock(ts: float) -> str:
    """A time of day for a reason string (UTC, to the second)."""
    return _dt.datetime.fromtimestamp(ts, tz=_dt.UTC).strftime("%H:%M:%S")


def short_name(key: dg.AssetKey) -> str:
    """An asset's last path component: the model's name, for reason strings."""
    return key.path[-1]


def _in_backoff(state: AssetState, now: float, base_s: float, max_s: float) -> float | None:
    """When the asset's backoff ends, if it is still backing off."""
    if state.failures <= 0 or state.last_failure_at is None:
        return None
    until = state.last_failure_at + backoff_s(state.failures, base_s, max_s)
    return until if now < until else None


def _stale_deps(
    key: dg.AssetKey,
    assets: Mapping[dg.AssetKey, AssetState],
    landed: Mapping[dg.AssetKey, Sequence[float]],
) -> list[dg.AssetKey]:
    """Planned deps of ``key`` (transitively) with unreflected data, nearest first."""
    found: list[dg.AssetKey] = []
    seen: set[dg.AssetKey] = set()
    todo = list(assets[key].deps)
    while todo:
        dep = todo.pop(0)
        if dep in seen or dep not in assets:
            continue
        seen.add(dep)
        if unreflected(assets[dep], landed):
            found.append(dep)
        todo.extend(assets[dep].deps)
    return found


def _first_build(
    state: AssetState, now: float, oldest: float | None, backoff: tuple[float, float]
) -> Decision:
    """A never-built asset: its automation condition builds it, the planner retries a failure.

    The first-build condition asks once (``~execution_failed()``), so a first build that
    failed would otherwise never be tried again.
    """
    key = state.key
    if state.failures == 0:
        return Decision(key, False, "first build: left to its automation condition", oldest, None)
    if state.in_progress:
        return Decision(key, False, "in progress: its first build is running", oldest, None)
    backing_off = _in_backoff(state, now, *backoff)
    if backing_off is not None:
        return Decision(
            key,
            False,
            f"backoff: first build failed {state.failures} time(s), retry after"
            f" {clock(backing_off)}",
            oldest,
            None,
        )
    return Decision(
        key, True, f"retry: first build failed {state.failures} time(s), backoff over", oldest, None
    )


def _next_shared_run(
    earliest: float,
    assets: Mapping[dg.AssetKey, AssetState],
    expected: Mapping[dg.AssetKey, float],
    tick_s: float,
) -> float:
    """When the next run due anyway should start, no earlier than ``earliest``.

    That is the tick after the next expected sync of a table an eager asset reads (it makes
    that asset due), or ``earliest`` when that sync lands while this run still executes.
    Without one (no eager reader, or no schedule known) the next chance is ``earliest`` itself:
    a run of its own right after this one.
    """
    eager_sources = {
        source
        for state in assets.values()
        if isinstance(state.policy, Eager) and state.built
        for source in state.sources
    }
    landings = [at for source, at in expected.items() if source in eager_sources]
    return max(min(landings) + tick_s, earliest) if landings else earliest


def _judge(
    state: AssetState,
    now: float,
    landed: Mapping[dg.AssetKey, Sequence[float]],
    expected: Mapping[dg.AssetKey, float],
    tick_s: float,
    margin_s: float,
    backoff: tuple[float, float],
) -> Decision:
    """The decision for one asset on its own (before its dependencies are looked at)."""
    key, policy = state.key, state.policy
    pending = unreflected(state, landed)
    oldest = min((syncs[0] for syncs in pending.values()), default=None)
    if isinstance(policy, Cron):
        return Decision(key, False, f"cron: built on its schedule ({policy.cron})", oldest, None)
    if not state.built:
        return _first_build(state, now, oldest, backoff)
    if oldest is None:
        return Decision(key, False, "current: every landed sync is reflected", None, None)
    deadline = oldest + policy.warn.total_seconds() if isinstance(policy, Freshness) else None
    if state.in_progress:
        return Decision(
            key, False, "in progress: the running build is not requested again", oldest, deadline
        )
    backing_off = _in_backoff(state, now, *backoff)
    if backing_off is not None:
        return Decision(
            key,
            False,
            f"backoff: {state.failures} failed build(s), retry after {clock(backing_off)}",
            oldest,
            deadline,
        )
    if isinstance(policy, OnDemand):
        return Decision(
            key,
            False,
            f"on demand: unreflected since {clock(oldest)}, built when a due asset reads it",
            oldest,
            deadline,
        )
    if state.failures > 0:
        return Decision(
            key, True, f"retry: {state.failures} failed build(s), backoff over", oldest, deadline
        )
    if isinstance(policy, Eager):
        sources = ", ".join(sorted(short_name(s) for s in pending))
        return Decision(
            key, True, f"eager: new data from {sources} since {clock(oldest)}", oldest, None
        )
    assert isinstance(policy, Freshness) and deadline is not None
    latest_start = deadline - state.expected_build_s - margin_s
    detail = (
        f"oldest unreflected sync {clock(oldest)}, deadline {clock(deadline)},"
        f" expected build {state.expected_build_s:.0f} s"
    )
    if now + tick_s >= latest_start:
        return Decision(
            key,
            True,
            f"freshness: {detail}, due (latest start {clock(latest_start)})",
            oldest,
            deadline,
        )
    coming = sorted(
        (at, source)
        for source, at in expected.items()
        if source in state.sources and now < at <= latest_start
    )
    wait = f"waiting until {clock(latest_start - tick_s)}"
    if coming:
        at, source = coming[0]
        wait += f", for the {clock(at)} {short_name(source)} sync"
    return Decision(key, False, f"freshness: {detail}, {wait}", oldest, deadline)


def plan(
    now: float,
    assets: Mapping[dg.AssetKey, AssetState],
    landed: Mapping[dg.AssetKey, Sequence[float]],
    expected: Mapping[dg.AssetKey, float],
    tick_s: float,
    margin_s: float,
    *,
    backoff_base_s: float = BACKOFF_BASE_S,
    backoff_max_s: float = BACKOFF_MAX_S,
) -> Plan:
    """The run to request now (the due assets and their stale planned deps) and why.

    Args:
        now: the current time.
        assets: every planned asset's state.
        landed: per connector table, succeeded_at of its landed syncs (at least those newer
            than any asset's data time).
        expected: per connector table, when its next sync is expected to land, if known.
        tick_s: how often plan() is called.
        margin_s: safety margin before a deadline.
        backoff_base_s: first retry delay after a failure (doubling, see :func:`backoff_s`).
        backoff_max_s: the bound of that delay.
    """
    backoff = (backoff_base_s, backoff_max_s)
    decisions = {
        key: _judge(state, now, landed, expected, tick_s, margin_s, backoff)
        for key, state in assets.items()
    }
    run: set[dg.AssetKey] = set()

    def add(key: dg.AssetKey, reason: str) -> bool:
        """Put ``key`` and its stale deps in the run, unless a dep cannot be built now.

        A dep whose build is running is left to that run: this run queues behind it (runs on
        the warehouse go one at a time) and records the data time the dep has by then.
        """
        stale = [dep for dep in _stale_deps(key, assets, landed) if not assets[dep].in_progress]
        blocked = [
            dep
            for dep in stale
            if not assets[dep].built
            or _in_backoff(assets[dep], now, backoff_base_s, backoff_max_s) is not None
        ]
        decision = decisions[key]
        if blocked:
            names = ", ".join(sorted(short_name(dep) for dep in blocked))
            decisions[key] = Decision(
                key,
                False,
                f"{reason}; waiting for {names} (first build or backing off)",
                decision.oldest_unreflected,
                decision.deadline,
            )
            return False
        run.add(key)
        decisions[key] = replace(decision, build=True, reason=reason)
        for dep in stale:
            if dep not in run:
                run.add(dep)
                if not decisions[dep].build:
                    decisions[dep] = replace(
                        decisions[dep],
                        build=True,
                        reason=f"read by {short_name(key)}, which is due: {decisions[dep].reason}",
                    )
        return True

    ordered = sorted(assets, key=lambda k: k.to_user_string())
    for key in ordered:
        if decisions[key].build:
            add(key, decisions[key].reason)
    # A run is going anyway: a freshness asset joins it when waiting for the next chance would
    # miss its deadline. The next chance is the next run due anyway (an eager asset's next
    # expected sync), not merely a tick after this one: a mart that would otherwise come due
    # between two eager runs rides on the last one before its deadline, so it costs a build but
    # not a run of its own (each run pays dbt's start and the project's hooks).
    if run:
        run_s = max(assets[key].expected_build_s for key in run)
        next_chance = _next_shared_run(now + run_s + tick_s, assets, expected, tick_s)
        for key in ordered:
            state, decision = assets[key], decisions[key]
            if (
                key in run
                or decision.build
                or not isinstance(state.policy, Freshness)
                or decision.deadline is None
                or state.in_progress
                or not state.built
                or _in_backoff(state, now, backoff_base_s, backoff_max_s) is not None
            ):
                continue
            if next_chance + state.expected_build_s + margin_s >= decision.deadline:
                add(
                    key,
                    f"joins the run: the next run due anyway ({clock(next_chance)}) plus its"
                    f" build ({state.expected_build_s:.0f} s) would miss the deadline"
                    f" {clock(decision.deadline)}",
                )
    return Plan(frozenset(run), decisions)
