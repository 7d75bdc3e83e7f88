"""How the planner explains itself: a log line per decision, an observation per change.

Each tick logs, per asset that is built or holds unreflected data, why it was built or left
(the tick's log in the UI); and an asset whose oldest unreflected sync or deadline changed gets
an observation with its policy, that sync, its deadline and the reason, so the asset's page
shows where it stands without reading logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from analytics_platform.automation.planner import Plan
from analytics_platform.automation.policy import (
    POLICY_METADATA_KEY,
    Cron,
    Policy,
    format_policy,
)

OLDEST_UNREFLECTED_KEY = "fieldforce/oldest_unreflected_sync"
DEADLINE_KEY = "fieldforce/deadline"
DECISION_KEY = "fieldforce/planner_decision"


def ui_observations(
    decided: Plan, policies: Mapping[dg.AssetKey, Policy], reported: Mapping[str, Any]
) -> tuple[list[dg.AssetObservation], dict[str, Any]]:
    """Observations of the assets whose oldest unreflected sync or deadline changed.

    Args:
        decided: the tick's plan.
        policies: the planned assets' policies.
        reported: per asset (user string), the ``[oldest, deadline]`` last reported.

    Returns:
        The observations, and what is reported after them (the next cursor's part).
    """
    events: list[dg.AssetObservation] = []
    now_reported: dict[str, Any] = {}
    for key in sorted(decided.decisions, key=str):
        decision = decided.decisions[key]
        name = key.to_user_string()
        shown = [decision.oldest_unreflected, decision.deadline]
        now_reported[name] = shown
        if reported.get(name) == shown:
            continue
        events.append(
            dg.AssetObservation(
                asset_key=key,
                metadata={
                    POLICY_METADATA_KEY: format_policy(policies[key]),
                    OLDEST_UNREFLECTED_KEY: _time_or_none(decision.oldest_unreflected),
                    DEADLINE_KEY: _time_or_none(decision.deadline),
                    DECISION_KEY: decision.reason,
                },
            )
        )
    return events, now_reported


def _time_or_none(value: float | None) -> dg.MetadataValue:
    return dg.MetadataValue.timestamp(value) if value is not None else dg.MetadataValue.text("none")


def log_decisions(
    context: dg.SensorEvaluationContext,
    decided: Plan,
    policies: Mapping[dg.AssetKey, Policy] | None = None,
) -> None:
    """One log line per asset that is built or has something unreflected (why, either way)."""
    policies = policies or {}
    for key in sorted(decided.decisions, key=str):
        decision = decided.decisions[key]
        # A cron report's unreflected data is its schedule's: saying so every tick is noise.
        scheduled = isinstance(policies.get(key), Cron)
        if decision.build or (decision.oldest_unreflected is not None and not scheduled):
            verb = "BUILD" if decision.build else "leave"
            context.log.info("%s %s: %s", verb, key.to_user_string(), decision.reason)
