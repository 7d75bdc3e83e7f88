"""Freshness-policy violations: an asset in its warn window warns, past its fail window pages.

Dagster evaluates ``FreshnessPolicy.time_window(fail_window, warn_window)`` in the daemon's
``FreshnessDaemon`` (on unless ``freshness: enabled: false``), which records
``FreshnessStateChange`` events; ``instance.get_freshness_state_records(keys)`` returns each
asset's latest state (PASS / WARN / FAIL / UNKNOWN) and when it changed.

For time-window policies (all of :mod:`analytics_platform.freshness`) this sensor applies the
daemon's own rule itself (age of the latest materialization ``>= fail_window`` fails, ``>=
warn_window`` warns) on the latest materialization, because that answer is exact at the tick,
does not depend on the freshness daemon being enabled or up to date, and can be tested on an
injected clock. For any other policy kind (cron) it reads the daemon's recorded state. An asset
never materialized has no freshness yet (UNKNOWN) and raises nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from analytics_platform.alerts.incidents import Findings, build_alert_sensor
from analytics_platform.alerts.policy import AlertingConfig, classify
from analytics_platform.alerts.render import Alert
from analytics_platform.ingest.checks import Clock, utc_now

RULE = "asset_freshness"


def _window(policy: Any, name: str) -> timedelta | None:
    value = getattr(policy, name, None)
    return value.to_timedelta() if value is not None else None


def time_window_state(
    policy: Any, last_materialized: datetime | None, now: datetime
) -> tuple[str, datetime | None]:
    """``(state, since)`` of a time-window policy: ``pass``, ``warn``, ``fail`` or ``unknown``.

    ``since`` is when the asset left ``pass`` (its warn window's end, or its fail window's end
    when it has no warn window), so an escalation keeps the incident's start.
    """
    fail = _window(policy, "fail_window")
    warn = _window(policy, "warn_window")
    if fail is None or last_materialized is None:
        return "unknown", None
    age = now - last_materialized
    stale_since = last_materialized + (warn or fail)
    if age >= fail:
        return "fail", stale_since
    if warn is not None and age >= warn:
        return "warn", stale_since
    return "pass", None


def recorded_state(record: Any) -> tuple[str, datetime | None]:
    """``(state, since)`` from the freshness daemon's record of an asset (None: unknown)."""
    if record is None:
        return "unknown", None
    return str(record.freshness_state.value).lower(), record.updated_at


def freshness_state(
    policy: Any, last_materialized: datetime | None, record: Any, now: datetime
) -> tuple[str, datetime | None]:
    """The state of one asset: computed for time windows, the daemon's otherwise."""
    if _window(policy, "fail_window") is not None:
        return time_window_state(policy, last_materialized, now)
    return recorded_state(record)


def _minutes(delta: timedelta | None) -> str:
    if delta is None:
        return "-"
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


def measure_freshness(
    instance: dg.DagsterInstance,
    policies: Mapping[dg.AssetKey, Any],
    now: datetime,
    config: AlertingConfig,
) -> Findings:
    """Assets past their warn or fail window at ``now``."""
    findings = Findings()
    keys = sorted(policies, key=lambda key: key.to_user_string())
    last: dict[dg.AssetKey, datetime] = {}
    for record in instance.get_asset_records(keys):
        entry = record.asset_entry.last_materialization
        if entry is not None:
            last[record.asset_entry.asset_key] = datetime.fromtimestamp(entry.timestamp, UTC)
    others = [key for key in keys if _window(policies[key], "fail_window") is None]
    records = instance.get_freshness_state_records(others) if others else {}
    for key in keys:
        policy = policies[key]
        state, since = freshness_state(policy, last.get(key), records.get(key), now)
        severity = classify(RULE, state, config) if state in ("warn", "fail") else None
        if severity is None or since is None:
            continue
        where = "/".join(key.path)
        built = last.get(key)
        age = f"last built {_minutes(now - built)} ago" if built else "stale"
        findings.problems[where] = Alert(
            rule=RULE,
            severity=severity,
            what=(
                f"{key.to_user_string()} is past its freshness {state} window ({age};"
                f" warn after {_minutes(_window(policy, 'warn_window'))},"
                f" fail after {_minutes(_window(policy, 'fail_window'))})"
            ),
            where=where,
            since=since,
            asset_key=tuple(key.path),
            details={
                "freshness_state": state,
                "last_materialized_at": built.isoformat() if built else None,
            },
        )
    return findings


def freshness_policies(specs: Iterable[dg.AssetSpec]) -> dict[dg.AssetKey, Any]:
    """The assets with a freshness policy, and their policies."""
    return {spec.key: spec.freshness_policy for spec in specs if spec.freshness_policy}


def build_freshness_sensor(
    specs: Iterable[dg.AssetSpec], config: AlertingConfig, *, clock: Clock = utc_now
) -> dg.SensorDefinition:
    """``alerts__freshness_sensor``: freshness-policy warn (Slack) and fail (page)."""
    policies = freshness_policies(specs)

    def measure(
        context: dg.SensorEvaluationContext, watch: dict[str, Any], now: datetime
    ) -> Findings:
        return measure_freshness(context.instance, policies, now, config)

    return build_alert_sensor(
        "alerts__freshness_sensor",
        "Freshness policies: warn window to Slack, fail window pages; a new build resolves.",
        measure,
        config,
        clock=clock,
        minimum_interval_seconds=60,
    )
