"""No check left behind: which dbt tests an asset still owes, and when they run.

A sync's run builds with ``--indirect-selection cautious``, so a relationship test whose other
model is not in the run is skipped. Every asset check of a planned asset must still run at least
once within the asset's window after the asset was built: owed checks join a run that is due
anyway, or, when the window is about to run out, run alone (:func:`plan_checks`, pure, over
what :func:`read_check_states` reads from the instance).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg
from dagster._core.storage.asset_check_execution_record import (
    COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES,
)

from analytics_platform.automation.planner import clock, short_name


@dataclass(frozen=True)
class CheckState:
    """An asset's dbt tests (asset checks) that have not run since its latest build."""

    key: dg.AssetKey
    unevaluated: frozenset[dg.AssetCheckKey]
    """Checks with no evaluation (nor attempt) since the asset's latest build."""
    built_at: float
    """The latest build (its materialization)."""
    window_s: float
    """Every check runs at least once within this long after the build."""
    in_progress: bool = False


@dataclass(frozen=True)
class ChecksPlan:
    """The checks to run now: with the tick's run, or (``checks_only``) in a run of their own."""

    checks: frozenset[dg.AssetCheckKey]
    checks_only: bool
    reasons: Mapping[dg.AssetKey, str]


def plan_checks(
    now: float,
    states: Mapping[dg.AssetKey, CheckState],
    run: frozenset[dg.AssetKey],
    tick_s: float,
    margin_s: float,
    expected_check_s: float = 60.0,
) -> ChecksPlan:
    """No check left behind: the unevaluated checks to run, batched into a due run if any.

    A sync's run skips the relationship tests whose other model it does not build, so after a
    build some of an asset's checks may not have run. When the tick requests a run anyway,
    every unevaluated check of an asset it does not build joins it (an asset it builds gets
    its checks with the build). Otherwise they wait until one asset's window after its build
    would run out by the next tick plus a checks run plus the margin; then all of them run,
    as one checks-only run.

    Args:
        now: the current time.
        states: per planned asset with unevaluated checks, what they are and its window.
        run: the assets the tick's plan builds (empty: no run is due).
        tick_s: how often the planner is called.
        margin_s: safety margin before a window runs out.
        expected_check_s: how long a checks-only run takes.
    """
    waiting = {
        key: state
        for key, state in states.items()
        if state.unevaluated and not state.in_progress and key not in run
    }
    if not waiting:
        return ChecksPlan(frozenset(), False, {})
    checks = frozenset(check for state in waiting.values() for check in state.unevaluated)

    def detail(state: CheckState) -> str:
        deadline = state.built_at + state.window_s
        return (
            f"{len(state.unevaluated)} check(s) not run since the build at"
            f" {clock(state.built_at)}, due by {clock(deadline)}"
        )

    if run:
        reasons = {
            key: f"checks: {detail(state)}, run with this tick's build"
            for key, state in waiting.items()
        }
        return ChecksPlan(checks, False, reasons)
    latest_start = {
        key: state.built_at + state.window_s - expected_check_s - margin_s
        for key, state in waiting.items()
    }
    due = [key for key, start in latest_start.items() if now + tick_s >= start]
    if due:
        names = ", ".join(sorted(short_name(key) for key in due))
        reasons = {
            key: f"checks: {detail(state)}, checks-only run (window ends for {names})"
            for key, state in waiting.items()
        }
        return ChecksPlan(checks, True, reasons)
    reasons = {
        key: f"checks: {detail(state)}, waiting for a due run until {clock(latest_start[key] - tick_s)}"
        for key, state in waiting.items()
    }
    return ChecksPlan(frozenset(), False, reasons)


def read_check_states(
    instance: dg.DagsterInstance,
    checks: Mapping[dg.AssetKey, frozenset[dg.AssetCheckKey]],
    windows: Mapping[dg.AssetKey, float],
    active_checks: frozenset[dg.AssetCheckKey],
) -> dict[dg.AssetKey, CheckState]:
    """Per planned asset, its checks with no evaluation since its latest build.

    A check counts as run when its newest execution is a completed evaluation in the build's
    own run, or any execution (even one that did not evaluate) of a later run: a checks-only
    run that could not evaluate a test is not repeated every tick; the next build resets it.
    Checks of queued or running runs are in progress.
    """
    keys = sorted({check for found in checks.values() for check in found}, key=str)
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    states: dict[dg.AssetKey, CheckState] = {}
    for asset, found in checks.items():
        if not found or asset not in windows:
            continue
        built = instance.get_latest_materialization_event(asset)
        if built is None:
            continue
        unevaluated = set()
        for check in found:
            record = latest.get(check)
            if record is None:
                unevaluated.add(check)
            elif record.run_id == built.run_id:
                if record.status not in COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES:
                    unevaluated.add(check)
            elif record.create_timestamp <= built.timestamp:
                unevaluated.add(check)
        if unevaluated:
            states[asset] = CheckState(
                key=asset,
                unevaluated=frozenset(unevaluated),
                built_at=built.timestamp,
                window_s=windows[asset],
                in_progress=bool(found & active_checks),
            )
    return states
