"""The SLA planner over simulated time: deadlines, batching, waiting, failures, restarts.

The simulator below is the planner's whole world: syncs land on a schedule, the planner is
called every tick, a requested run takes the sum of its assets' build times and, when it ends,
records for each asset the data time it read (:func:`data_time_after_build`). Nothing of the
planner survives between calls, which is what makes it restart-safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta

import dagster as dg

from analytics_platform.automation.datatime import data_time_after_build
from analytics_platform.automation.owed_checks import CheckState, plan_checks
from analytics_platform.automation.planner import AssetState, backoff_s, plan
from analytics_platform.automation.policy import Eager, Freshness, OnDemand, Policy

JOBS = dg.AssetKey(["fivetran", "jobs_db", "jobs"])
ACCOUNTS = dg.AssetKey(["fivetran", "salesforce", "account"])
CONNECTORS = frozenset({JOBS, ACCOUNTS})
INT = dg.AssetKey(["intermediate", "int_jobs_enriched"])
LIVE = dg.AssetKey(["marts", "core", "fct_jobs"])
MART = dg.AssetKey(["marts", "finance", "fct_revenue"])
CUSTOMERS = dg.AssetKey(["marts", "core", "dim_customers"])

WINDOW = Freshness(warn=timedelta(minutes=30), fail=timedelta(minutes=60))
READS: dict[dg.AssetKey, frozenset[dg.AssetKey]] = {
    INT: frozenset({JOBS}),
    LIVE: frozenset({JOBS}),
    MART: frozenset({INT, ACCOUNTS}),
    CUSTOMERS: frozenset({ACCOUNTS}),
}
POLICIES: dict[dg.AssetKey, Policy] = {
    INT: OnDemand(),
    LIVE: Eager(),
    MART: WINDOW,
    CUSTOMERS: WINDOW,
}
SOURCES = {
    INT: frozenset({JOBS}),
    LIVE: frozenset({JOBS}),
    MART: frozenset({JOBS, ACCOUNTS}),
    CUSTOMERS: frozenset({ACCOUNTS}),
}
DEPS = {INT: frozenset(), LIVE: frozenset(), MART: frozenset({INT}), CUSTOMERS: frozenset()}
TICK = 30.0
MARGIN = 60.0
T0 = 1_800_000_000.0  # a whole hour, so reason strings read nicely


def state(
    key: dg.AssetKey, data_time: Mapping[dg.AssetKey, float] | None = None, **kw: object
) -> AssetState:
    """An asset of the test graph with a data time (default: both sources seen at T0 - 1 h)."""
    seen = data_time if data_time is not None else {s: T0 - 3600 for s in SOURCES[key]}
    return AssetState(key, POLICIES[key], SOURCES[key], DEPS[key], dict(seen), **kw)  # type: ignore[arg-type]


def graph(**overrides: AssetState) -> dict[dg.AssetKey, AssetState]:
    """Every asset current as of T0 - 1 h, with some states replaced."""
    states = {key: state(key) for key in READS}
    for value in overrides.values():
        states[value.key] = value
    return states


@dataclass
class Sim:
    """Syncs land, the planner ticks, one run at a time executes and records data times."""

    syncs: dict[dg.AssetKey, list[float]]
    build_s: dict[dg.AssetKey, float] = field(default_factory=lambda: dict.fromkeys(READS, 40.0))
    failing: set[dg.AssetKey] = field(default_factory=set)
    recorded: dict[dg.AssetKey, dict[dg.AssetKey, float]] = field(
        default_factory=lambda: {key: {s: T0 - 3600 for s in SOURCES[key]} for key in READS}
    )
    expected_build_s: float = 60.0
    builds: dict[dg.AssetKey, list[tuple[float, dict[dg.AssetKey, float]]]] = field(
        default_factory=lambda: {key: [] for key in READS}
    )
    failures: dict[dg.AssetKey, tuple[int, float]] = field(default_factory=dict)
    runs: int = 0
    every: dict[dg.AssetKey, float] = field(default_factory=dict)
    """Per table, its sync period: the expected syncs the planner is told of (none: unknown)."""
    running: tuple[frozenset[dg.AssetKey], float, float, dict[dg.AssetKey, float]] | None = None

    def landed(self, now: float) -> dict[dg.AssetKey, list[float]]:
        return {s: [t for t in times if t <= now] for s, times in self.syncs.items()}

    def states(self) -> dict[dg.AssetKey, AssetState]:
        """What the sensor reads from the instance: recorded data times, failures, runs."""
        in_run = self.running[0] if self.running else frozenset()
        out = {}
        for key in READS:
            failures, at = self.failures.get(key, (0, None))
            out[key] = AssetState(
                key,
                POLICIES[key],
                SOURCES[key],
                DEPS[key],
                dict(self.recorded[key]),
                expected_build_s=self.expected_build_s,
                failures=failures,
                last_failure_at=at,
                in_progress=key in in_run,
            )
        return out

    def step(self, now: float) -> None:
        if self.running and now >= self.running[2]:
            run, _, end, newest = self.running
            for key in sorted(run, key=lambda k: len(DEPS[k])):
                if key in self.failing:
                    count, _ = self.failures.get(key, (0, 0.0))
                    self.failures[key] = (count + 1, end)
                    continue
                seen = data_time_after_build(key, READS, run, newest, self.recorded, CONNECTORS)
                self.recorded[key] = seen
                self.builds[key].append((end, seen))
                self.failures.pop(key, None)
            self.running = None
        landed = self.landed(now)
        expected = {s: (now // p + 1) * p for s, p in self.every.items()}
        decided = plan(now, self.states(), landed, expected, TICK, MARGIN)
        if decided.run and self.running is None:
            newest = {s: max(times) for s, times in landed.items() if times}
            duration = sum(self.build_s[key] for key in decided.run)
            self.running = (decided.run, now, now + duration, newest)
            self.runs += 1

    def run_until(self, end: float) -> None:
        now = T0
        while now <= end:
            self.step(now)
            now += TICK

    def reflected_at(self, key: dg.AssetKey, source: dg.AssetKey, sync: float) -> float | None:
        """When a build of ``key`` first held ``sync`` of ``source`` (None: never)."""
        for at, seen in self.builds[key]:
            if seen.get(source, float("-inf")) >= sync:
                return at
        return None


def test_an_eager_asset_is_due_as_soon_as_a_sync_lands() -> None:
    """A landed jobs sync makes fct_jobs due at once; the freshness mart may still wait."""
    decided = plan(T0, graph(), {JOBS: [T0 - 5]}, {}, TICK, MARGIN)
    assert decided.run == {LIVE}
    assert decided.decisions[LIVE].build and decided.decisions[LIVE].reason.startswith("eager")
    assert not decided.decisions[MART].build
    assert "waiting" in decided.decisions[MART].reason


def test_a_freshness_asset_builds_just_in_time_for_its_deadline() -> None:
    """Due once one more tick plus the expected build and the margin would miss sync + warn."""
    sync = T0
    latest_start = sync + 1800 - 60 - MARGIN
    early = plan(latest_start - TICK - 1, graph(), {ACCOUNTS: [sync]}, {}, TICK, MARGIN)
    due = plan(latest_start - TICK, graph(), {ACCOUNTS: [sync]}, {}, TICK, MARGIN)
    assert CUSTOMERS not in early.run
    assert early.decisions[CUSTOMERS].deadline == sync + 1800
    assert CUSTOMERS in due.run and MART in due.run  # both read the accounts table
    assert "deadline" in due.decisions[CUSTOMERS].reason


def test_several_syncs_are_batched_into_one_build_within_the_window() -> None:
    """Six jobs syncs (every 5 min) reach the freshness mart in far fewer builds, each in time."""
    syncs = [T0 + 300 * i for i in range(1, 7)]
    sim = Sim(syncs={JOBS: syncs, ACCOUNTS: []})
    sim.run_until(T0 + 2 * 3600)
    assert len(sim.builds[LIVE]) >= len(syncs) - 1  # eager: (nearly) one build per sync
    assert 1 <= len(sim.builds[MART]) <= 2
    for sync in syncs:
        at = sim.reflected_at(MART, JOBS, sync)
        assert at is not None and at <= sync + WINDOW.warn.total_seconds(), sync


def test_a_mart_waits_for_an_expected_sync_and_says_so() -> None:
    """A sync expected before the latest start is named in the reason, and the mart waits."""
    sync = T0
    decided = plan(sync + 60, graph(), {ACCOUNTS: [sync]}, {ACCOUNTS: sync + 900}, TICK, MARGIN)
    reason = decided.decisions[CUSTOMERS].reason
    assert not decided.decisions[CUSTOMERS].build
    assert "waiting" in reason and "account sync" in reason
    # The expected sync lands; the one build that follows reflects both.
    sim = Sim(syncs={JOBS: [], ACCOUNTS: [sync, sync + 900]})
    sim.run_until(sync + 3600)
    assert len(sim.builds[CUSTOMERS]) == 1
    assert sim.builds[CUSTOMERS][0][1][ACCOUNTS] == sync + 900


def test_a_longer_expected_build_makes_the_asset_due_earlier() -> None:
    """What was learned of the build time moves the start forward, so a slow build still fits."""
    sync = T0
    now = sync + 900
    fast = plan(now, graph(), {ACCOUNTS: [sync]}, {}, TICK, MARGIN)
    slow_state = replace(state(CUSTOMERS), expected_build_s=840.0)
    slow = plan(now, graph(c=slow_state), {ACCOUNTS: [sync]}, {}, TICK, MARGIN)
    assert CUSTOMERS not in fast.run
    assert CUSTOMERS in slow.run
    assert "expected build 840 s" in slow.decisions[CUSTOMERS].reason


def test_a_build_slower_than_expected_is_still_reflected_by_the_next_tick() -> None:
    """A run that takes far longer than expected misses nothing: later syncs stay unreflected."""
    syncs = [T0 + 60, T0 + 600]
    sim = Sim(syncs={JOBS: syncs, ACCOUNTS: []}, build_s=dict.fromkeys(READS, 400.0))
    sim.run_until(T0 + 3 * 3600)
    for sync in syncs:
        assert sim.reflected_at(LIVE, JOBS, sync) is not None
        assert sim.reflected_at(MART, JOBS, sync) is not None


def test_a_failed_build_backs_off_then_retries() -> None:
    """Not retried during its backoff; retried right after, whatever its deadline."""
    failed = replace(state(LIVE), failures=2, last_failure_at=T0)
    during = plan(T0 + backoff_s(2) - 1, graph(f=failed), {JOBS: [T0 - 100]}, {}, TICK, MARGIN)
    after = plan(T0 + backoff_s(2), graph(f=failed), {JOBS: [T0 - 100]}, {}, TICK, MARGIN)
    assert LIVE not in during.run and "backoff" in during.decisions[LIVE].reason
    assert LIVE in after.run and after.decisions[LIVE].reason.startswith("retry")
    assert backoff_s(1) < backoff_s(2) < backoff_s(3)
    assert backoff_s(50) == backoff_s(60)  # bounded


def test_a_failing_asset_is_retried_with_growing_gaps_not_every_tick() -> None:
    """Over an hour of failures the runs stay few; once it heals the sync is reflected."""
    sim = Sim(syncs={JOBS: [T0 + 30], ACCOUNTS: []}, failing={LIVE})
    sim.run_until(T0 + 1800)
    retries = sim.runs
    assert 2 <= retries <= 8  # 60 + 120 + 240 + 480 + 900 ... over 30 min, not 60 ticks
    sim.failing.clear()
    sim.run_until(T0 + 1800 + 1200)
    assert sim.reflected_at(LIVE, JOBS, T0 + 30) is not None


def test_a_restart_gives_the_same_plan() -> None:
    """State-based: a fresh call with the same inputs (after a restart) plans the same run."""
    states = graph(f=replace(state(LIVE), in_progress=True))
    landed = {JOBS: [T0 - 1700], ACCOUNTS: [T0 - 200]}
    first = plan(T0, states, landed, {}, TICK, MARGIN)
    again = plan(T0, dict(reversed(list(states.items()))), landed, {}, TICK, MARGIN)
    assert first == again
    assert first.run == {MART, INT}  # the jobs sync's deadline is near; fct_jobs is running


def test_a_restart_mid_run_loses_no_sync() -> None:
    """A run lost mid-way (its process killed) is planned again from recorded data times."""
    sim = Sim(syncs={JOBS: [T0 + 60], ACCOUNTS: []})
    sim.run_until(T0 + 90)
    assert sim.running is not None and LIVE in sim.running[0]
    sim.running = None  # kill -9: the run never records anything
    sim.run_until(T0 + 600)
    assert sim.reflected_at(LIVE, JOBS, T0 + 60) is not None


def test_a_due_asset_brings_its_stale_deps_into_the_one_run() -> None:
    """The on-demand intermediate with unreflected data joins; a current dep does not."""
    sync = T0 - 1700
    decided = plan(T0, graph(), {JOBS: [sync]}, {}, TICK, MARGIN)
    assert decided.run == {MART, INT, LIVE}
    assert "read by fct_revenue" in decided.decisions[INT].reason
    current_int = state(INT, {JOBS: sync})
    stale_mart = state(MART, {JOBS: sync - 10, ACCOUNTS: T0 - 3600})
    decided = plan(T0, graph(i=current_int, m=stale_mart), {JOBS: [sync]}, {}, TICK, MARGIN)
    assert INT not in decided.run


def test_in_progress_assets_are_not_requested_again() -> None:
    """A running build is left alone; a due asset queues behind its stale dep's running build."""
    running = replace(state(LIVE), in_progress=True)
    decided = plan(T0, graph(f=running), {JOBS: [T0 - 10]}, {}, TICK, MARGIN)
    assert LIVE not in decided.run and "in progress" in decided.decisions[LIVE].reason
    int_running = replace(state(INT), in_progress=True)
    decided = plan(T0, graph(i=int_running), {JOBS: [T0 - 1700]}, {}, TICK, MARGIN)
    assert MART in decided.run and INT not in decided.run


def test_a_freshness_asset_joins_a_run_when_the_next_chance_would_be_too_late() -> None:
    """An eager run goes now; the mart, due only in a while, joins when waiting for the next
    chance (after this run, plus a tick) and its own build would pass its deadline."""
    sync = T0 - 1800 + 200  # the mart's deadline is 200 s away
    slow_live = replace(state(LIVE), expected_build_s=150.0)
    mart = replace(state(MART), expected_build_s=40.0)
    decided = plan(T0, graph(f=slow_live, m=mart), {JOBS: [sync]}, {}, TICK, MARGIN)
    # Alone, the mart could wait: latest start = deadline - 40 - margin is beyond the tick.
    assert not _judge_due(mart, sync)
    assert MART in decided.run and "joins the run" in decided.decisions[MART].reason
    # Far from its deadline, it does not join.
    early = plan(T0, graph(f=slow_live, m=mart), {JOBS: [T0 - 10]}, {}, TICK, MARGIN)
    assert LIVE in early.run and MART not in early.run


def test_a_freshness_asset_rides_on_the_last_run_due_anyway_before_its_deadline() -> None:
    """The next eager run (the next jobs sync) would come too late for the mart: it joins this
    one. When the next jobs sync comes early enough, it waits for that run instead."""
    sync = T0 - 1200  # the mart's deadline is 10 min away: alone, it would wait
    mart = replace(state(MART), expected_build_s=40.0)
    assert not _judge_due(mart, sync)
    late = plan(T0, graph(m=mart), {JOBS: [sync, T0 - 5]}, {JOBS: T0 + 900}, TICK, MARGIN)
    assert MART in late.run and "next run due anyway" in late.decisions[MART].reason
    soon = plan(T0, graph(m=mart), {JOBS: [sync, T0 - 5]}, {JOBS: T0 + 300}, TICK, MARGIN)
    assert LIVE in soon.run and MART not in soon.run


def test_with_a_known_schedule_a_freshness_mart_needs_no_run_of_its_own() -> None:
    """Jobs syncs every 15 min, a 30-min window: every mart build rides on an eager run, every
    sync still reaches the mart in time, and it builds about once per two syncs."""
    syncs = [T0 + 900 * i + 30 for i in range(8)]
    for every in ({}, {JOBS: 900.0}):
        sim = Sim(syncs={JOBS: syncs, ACCOUNTS: []}, every=every)
        sim.run_until(T0 + 3 * 3600)
        for sync in syncs:
            at = sim.reflected_at(MART, JOBS, sync)
            assert at is not None and at <= sync + WINDOW.warn.total_seconds(), (every, sync)
        if every:
            assert sim.runs == len(sim.builds[LIVE]) == len(syncs)
            assert len(sim.builds[MART]) <= len(syncs) // 2 + 1
        else:  # without the schedule, the mart comes due between eager runs: runs of its own
            assert sim.runs > len(sim.builds[LIVE])


def _judge_due(mart: AssetState, sync: float) -> bool:
    alone = plan(T0, {MART: mart, INT: state(INT)}, {JOBS: [sync]}, {}, TICK, MARGIN)
    return MART in alone.run


def test_a_sync_landing_during_a_run_is_reflected_by_the_next() -> None:
    """The run reads what had landed at its start; the later sync stays unreflected, then lands."""
    sim = Sim(syncs={JOBS: [T0 + 10, T0 + 45], ACCOUNTS: []}, build_s=dict.fromkeys(READS, 60.0))
    sim.run_until(T0 + 400)
    first, second = sim.builds[LIVE][0][1][JOBS], sim.builds[LIVE][-1][1][JOBS]
    assert first == T0 + 10 and second == T0 + 45


def test_data_time_is_the_minimum_over_paths() -> None:
    """A mart reading an old table and a fresh source holds the older sync for that source."""
    reads = {MART: frozenset({INT, JOBS}), INT: frozenset({JOBS})}
    newest = {JOBS: T0}
    recorded = {INT: {JOBS: T0 - 900}}
    outside = data_time_after_build(MART, reads, frozenset({MART}), newest, recorded, CONNECTORS)
    inside = data_time_after_build(
        MART, reads, frozenset({MART, INT}), newest, recorded, CONNECTORS
    )
    never = data_time_after_build(MART, reads, frozenset({MART}), newest, {}, CONNECTORS)
    assert outside == {JOBS: T0 - 900}
    assert inside == {JOBS: T0}
    assert never == {}


def test_a_never_built_asset_is_left_to_its_first_build_and_its_readers_wait_for_it() -> None:
    states = graph(
        INT=state(INT, data_time={}, built=False),
        LIVE=state(LIVE, data_time={}, built=False),
    )
    landed = {JOBS: [T0 - 60], ACCOUNTS: [T0 - 1800]}  # MART's deadline is now
    decided = plan(T0, states, landed, {}, TICK, MARGIN)
    assert decided.run == frozenset({CUSTOMERS})  # LIVE and INT: their first build's
    assert not decided.decisions[LIVE].build
    assert "first build" in decided.decisions[LIVE].reason
    assert not decided.decisions[MART].build
    assert "waiting for int_jobs_enriched" in decided.decisions[MART].reason


def test_a_failed_first_build_is_retried_by_the_planner_after_its_backoff() -> None:
    """The first-build condition asks once; the planner heals the failure, then its readers."""
    failed = state(INT, data_time={}, built=False, failures=1, last_failure_at=T0)
    landed = {JOBS: [T0 - 60], ACCOUNTS: [T0 - 60]}
    during = plan(T0 + backoff_s(1) - 1, graph(i=failed), landed, {}, TICK, MARGIN)
    after = plan(T0 + backoff_s(1), graph(i=failed), landed, {}, TICK, MARGIN)
    assert INT not in during.run and "backoff: first build failed 1" in during.decisions[INT].reason
    assert INT in after.run and after.decisions[INT].reason.startswith("retry: first build")
    running = replace(failed, in_progress=True)
    assert INT not in plan(T0 + 10_000, graph(i=running), landed, {}, TICK, MARGIN).run


def _checks(key: dg.AssetKey, *names: str) -> frozenset[dg.AssetCheckKey]:
    return frozenset(dg.AssetCheckKey(key, name) for name in names)


def test_checks_left_behind_join_a_run_that_is_due_anyway() -> None:
    states = {
        MART: CheckState(MART, _checks(MART, "relationships_accounts"), T0 - 60, 1800.0),
        LIVE: CheckState(LIVE, _checks(LIVE, "relationships_techs"), T0 - 60, 1800.0),
    }
    checked = plan_checks(T0, states, frozenset({LIVE}), TICK, MARGIN)
    # LIVE is rebuilt (its checks come with the build); MART's wait no longer.
    assert checked.checks == _checks(MART, "relationships_accounts")
    assert not checked.checks_only
    assert "run with this tick's build" in checked.reasons[MART]


def test_checks_wait_for_a_due_run_until_their_window_runs_out_then_run_alone() -> None:
    states = {
        MART: CheckState(MART, _checks(MART, "a", "b"), T0, 1800.0),
        CUSTOMERS: CheckState(CUSTOMERS, _checks(CUSTOMERS, "c"), T0 + 600, 1800.0),
    }
    waiting = plan_checks(T0 + 60, states, frozenset(), TICK, MARGIN, expected_check_s=60.0)
    assert waiting.checks == frozenset() and not waiting.checks_only
    assert "waiting for a due run" in waiting.reasons[MART]
    # MART's window ends at T0 + 1800: latest start T0 + 1680, one tick before it is due.
    due = plan_checks(T0 + 1650, states, frozenset(), TICK, MARGIN, expected_check_s=60.0)
    assert due.checks_only
    assert due.checks == _checks(MART, "a", "b") | _checks(CUSTOMERS, "c")  # batched, one run
    assert plan_checks(T0 + 1640, states, frozenset(), TICK, MARGIN).checks == frozenset()


def test_checks_in_progress_are_not_requested_again() -> None:
    states = {MART: CheckState(MART, _checks(MART, "a"), T0, 60.0, in_progress=True)}
    assert plan_checks(T0 + 600, states, frozenset(), TICK, MARGIN).checks == frozenset()
    assert plan_checks(T0 + 600, {}, frozenset({MART}), TICK, MARGIN).checks == frozenset()
