"""dbt job failures: a failed staging model warns, a failed mart pages (the alert matrix).

Read from the event log, not from a run-status sensor, so the state is ours (the JSON cursor)
and an incident can be resolved: the sensor follows ``RUN_FAILURE`` events with an event-log
cursor and, for each failed run, works out which assets *failed* (planned, not materialized)
and which of those are the cause rather than collateral: an asset whose upstream in the same
run also failed, or failed an error-severity test, was skipped by dbt, not broken. The layer of
each cause comes from its group (``staging``, ``intermediate``, ``snapshots``, ``marts_*``) and
``alerting.yaml`` turns it into a severity.

One incident per failing asset: more failed runs of the same asset (automation retrying it)
fold into it; the asset's next successful materialization resolves it. A run that will be
retried automatically (``dagster/will_retry``) is left to its retry, so a transient failure
that a retry fixes never pages. A run whose assets all materialized but whose tests failed is
the test-failure sensor's to report, and a Fivetran table that failed to land (trigger mode)
the Fivetran sync-failure row's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from analytics_platform.alerts.incidents import (
    Findings,
    alert_from_json,
    alert_to_json,
    build_alert_sensor,
)
from analytics_platform.alerts.policy import AlertingConfig, classify
from analytics_platform.alerts.render import Alert
from analytics_platform.ingest.checks import Clock, utc_now

RULE = "dbt_model_failure"
WILL_RETRY_TAG = "dagster/will_retry"
LOOKBACK = timedelta(hours=24)
"""Run failures older than this when first seen (a fresh deployment) are history, not news."""
PAGE_SIZE = 100
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class AssetInfo:
    """What the sensor needs to know of an asset: its layer's group, kinds and upstreams."""

    group: str | None
    kinds: frozenset[str]
    deps: frozenset[dg.AssetKey]


def asset_infos(specs: Iterable[dg.AssetSpec]) -> dict[dg.AssetKey, AssetInfo]:
    """Groups, kinds and dependencies by asset key."""
    return {
        spec.key: AssetInfo(
            spec.group_name,
            frozenset(spec.kinds),
            frozenset(dep.asset_key for dep in spec.deps),
        )
        for spec in specs
    }


def layer_of_group(group: str | None) -> str:
    """The project layer a group stands for: every ``marts_<area>`` is ``marts``."""
    if not group:
        return "unknown"
    return "marts" if group == "marts" or group.startswith("marts_") else group


def root_failures(
    failed: set[dg.AssetKey],
    deps: Mapping[dg.AssetKey, Iterable[dg.AssetKey]],
    blocked_by: set[dg.AssetKey],
) -> set[dg.AssetKey]:
    """The failed assets that are causes: none of their upstreams failed or blocked them.

    Args:
        failed: Planned in the run and not materialized.
        deps: Upstream keys per asset.
        blocked_by: Assets that failed an error-severity check in the run (dbt skips what is
            downstream of them).
    """
    culprits = failed | blocked_by
    return {key for key in failed if not set(deps.get(key, ())) & culprits}


def _first_line(text: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line[:MAX_ERROR_CHARS]


def run_failure_alerts(
    instance: dg.DagsterInstance,
    run: dg.DagsterRun,
    failed_at: datetime,
    infos: Mapping[dg.AssetKey, AssetInfo],
    config: AlertingConfig,
) -> list[tuple[Alert, dg.AssetKey | None]]:
    """One alert per cause of a failed run (empty: its failed tests are reported elsewhere)."""
    kinds = {
        dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
        dg.DagsterEventType.ASSET_MATERIALIZATION,
        dg.DagsterEventType.ASSET_CHECK_EVALUATION,
        dg.DagsterEventType.STEP_FAILURE,
        dg.DagsterEventType.RUN_FAILURE,
    }
    planned: set[dg.AssetKey] = set()
    built: set[dg.AssetKey] = set()
    blocked_by: set[dg.AssetKey] = set()
    failed_checks = 0
    errors: list[str] = []
    for entry in instance.all_logs(run.run_id, of_type=kinds):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
            planned.add(event.asset_key)  # type: ignore[arg-type]
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            built.add(event.asset_key)  # type: ignore[arg-type]
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if isinstance(evaluation, dg.AssetCheckEvaluation) and not evaluation.passed:
                failed_checks += 1
                if evaluation.severity == dg.AssetCheckSeverity.ERROR:
                    blocked_by.add(evaluation.asset_key)
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE and event.step_failure_data:
            error = event.step_failure_data.error
            if error is not None:
                errors.append(_first_line(error.message))
        elif entry.user_message:
            errors.append(_first_line(entry.user_message))
    failed = planned - built
    error = errors[0] if errors else None
    if not failed:
        if failed_checks:
            return []
        severity = classify(RULE, "job", config) or "warning"
        return [
            (
                Alert(
                    rule=RULE,
                    severity=severity,
                    what=f"Run of {run.job_name} failed",
                    where=f"run/{run.job_name}",
                    since=failed_at,
                    run_id=run.run_id,
                    details={"job": run.job_name, "error": error},
                ),
                None,
            )
        ]
    deps = {key: info.deps for key, info in infos.items()}
    causes = root_failures(failed, deps, blocked_by)
    # A Fivetran table that failed to land (trigger mode) is the Fivetran rows' to report.
    causes = {key for key in causes if "fivetran" not in (infos[key].kinds if key in infos else ())}
    alerts = []
    for key in sorted(causes, key=lambda item: item.to_user_string()):
        info = infos.get(key)
        layer = layer_of_group(info.group if info else None)
        severity = classify(RULE, layer, config) or "warning"
        name = key.path[-1]
        what = (
            f"dbt model {name} ({layer}) failed to build"
            if info and "dbt" in info.kinds
            else f"Asset {key.to_user_string()} ({layer}) failed to materialize"
        )
        alerts.append(
            (
                Alert(
                    rule=RULE,
                    severity=severity,
                    what=what,
                    where="/".join(key.path),
                    since=failed_at,
                    run_id=run.run_id,
                    details={
                        "layer": layer,
                        "job": run.job_name,
                        "not_built_downstream": len(failed) - len(causes),
                        "error": error,
                    },
                ),
                key,
            )
        )
    return alerts


def _recovered(instance: dg.DagsterInstance, item: Mapping[str, Any]) -> bool:
    failed_at = float(item["failed_at"])
    if item.get("asset"):
        latest = instance.get_latest_materialization_event(dg.AssetKey(item["asset"]))
        return latest is not None and latest.timestamp > failed_at
    succeeded = instance.get_run_records(
        dg.RunsFilter(
            job_name=item["job"],
            statuses=[dg.DagsterRunStatus.SUCCESS],
            created_after=datetime.fromtimestamp(failed_at, UTC),
        ),
        limit=1,
    )
    return bool(succeeded)


def measure_run_failures(
    context: dg.SensorEvaluationContext,
    watch: dict[str, Any],
    now: datetime,
    infos: Mapping[dg.AssetKey, AssetInfo],
    config: AlertingConfig,
) -> Findings:
    """New run failures since the cursor, plus the incidents not yet recovered."""
    instance = context.instance
    failing: dict[str, Any] = dict(watch.get("failing") or {})
    result = instance.fetch_run_status_changes(
        dg.DagsterEventType.RUN_FAILURE,
        limit=PAGE_SIZE,
        cursor=watch.get("cursor"),
        ascending=True,
    )
    oldest = (now - LOOKBACK).timestamp()
    for record in result.records:
        entry = record.event_log_entry
        if entry.timestamp < oldest:
            continue
        run = instance.get_run_by_id(entry.run_id)
        if run is None or run.tags.get(WILL_RETRY_TAG) == "true":
            continue
        failed_at = datetime.fromtimestamp(entry.timestamp, UTC)
        for alert, key in run_failure_alerts(instance, run, failed_at, infos, config):
            item = failing.get(alert.where)
            if item is not None:
                alert = replace(alert, since=alert_from_json(item["alert"]).since)
            failing[alert.where] = {
                "alert": alert_to_json(alert),
                "asset": list(key.path) if key else None,
                "job": run.job_name,
                "failed_at": entry.timestamp,
            }
    for where, item in list(failing.items()):
        if _recovered(instance, item):
            del failing[where]
    state = {"cursor": result.cursor or watch.get("cursor"), "failing": failing}
    problems = {where: alert_from_json(item["alert"]) for where, item in failing.items()}
    return Findings(problems=problems, state=state)


def build_run_failure_sensor(
    specs: Iterable[dg.AssetSpec], config: AlertingConfig, *, clock: Clock = utc_now
) -> dg.SensorDefinition:
    """``alerts__dbt_model_failure_sensor``: staging failures warn, mart failures page."""
    infos = asset_infos(specs)

    def measure(
        context: dg.SensorEvaluationContext, watch: dict[str, Any], now: datetime
    ) -> Findings:
        return measure_run_failures(context, watch, now, infos, config)

    return build_alert_sensor(
        "alerts__dbt_model_failure_sensor",
        "Failed dbt models: staging, intermediate and snapshots warn; marts page."
        " Resolved when the model builds again.",
        measure,
        config,
        clock=clock,
        minimum_interval_seconds=30,
    )
