"""Failing asset checks: dbt tests (warn → Slack, error → page) and raw row-count anomalies.

Both read the latest evaluation of each check from the instance, whoever produced it (a dbt
run, a sensor, "Execute" in the UI), so one failing test is one incident however often it is
re-evaluated, and its next passing evaluation resolves it. An evaluation still in progress,
or a check that could not execute (its run failed first), leaves the incident as it was.

The raw-table checks (:mod:`analytics_platform.ingest.checks`) are not dbt tests: their freshness is the Fivetran
sync-delay row's business, and their anomaly check has its own row, which alerts only when the
latest sync is off its trailing median by more than ``alerting.yaml``'s relative deviation:
the check flags the statistically unusual, the alert what is also big.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from analytics_platform.alerts.incidents import Findings, build_alert_sensor
from analytics_platform.alerts.policy import AlertingConfig, classify
from analytics_platform.alerts.render import Alert
from analytics_platform.ingest.checks import (
    RAW_ANOMALY_CHECK,
    RAW_CHECK_NAMES,
    Clock,
    raw_tables,
    utc_now,
)

TEST_RULE = "dbt_test_failure"
ANOMALY_RULE = "raw_row_count_anomaly"
IN_FLIGHT = frozenset({"PLANNED", "EXECUTION_FAILED"})
"""Statuses that say nothing about pass or fail: the incident stays as it is."""


def check_where(key: dg.AssetCheckKey) -> str:
    """``<asset key path>:<check name>``: the stable place of one check's incident."""
    return f"{'/'.join(key.asset_key.path)}:{key.name}"


def _latest(
    instance: dg.DagsterInstance, keys: Sequence[dg.AssetCheckKey]
) -> dict[dg.AssetCheckKey, Any]:
    if not keys:
        return {}
    return dict(instance.event_log_storage.get_latest_asset_check_execution_by_key(list(keys)))


def _evaluation(record: Any) -> dg.AssetCheckEvaluation | None:
    event = record.event.dagster_event if record.event else None
    data = event.event_specific_data if event else None
    return data if isinstance(data, dg.AssetCheckEvaluation) else None


def _link(config: AlertingConfig, key: dg.AssetCheckKey) -> str:
    return f"{config.dagster_ui_url.rstrip('/')}/assets/{'/'.join(key.asset_key.path)}?view=checks"


def measure_test_failures(
    instance: dg.DagsterInstance, keys: Iterable[dg.AssetCheckKey], config: AlertingConfig
) -> Findings:
    """Failing checks other than the raw-table ones, by the severity they failed with."""
    findings = Findings()
    chosen = sorted((key for key in keys if key.name not in RAW_CHECK_NAMES), key=str)
    for key, record in _latest(instance, chosen).items():
        where = check_where(key)
        status = record.status.value
        if status in IN_FLIGHT:
            findings.unknown.add(where)
            continue
        evaluation = _evaluation(record)
        if status != "FAILED" or evaluation is None:
            continue
        level = evaluation.severity.value.lower()
        severity = classify(TEST_RULE, level, config)
        if severity is None:
            continue
        asset = key.asset_key.to_user_string()
        findings.problems[where] = Alert(
            rule=TEST_RULE,
            severity=severity,
            what=f"Test {key.name} failed on {asset} (severity {level})",
            where=where,
            since=datetime.fromtimestamp(record.event.timestamp, UTC),
            run_id=record.run_id or None,
            link=_link(config, key),
            details={
                "asset": asset,
                "test": key.name,
                "test_severity": level,
                "description": (evaluation.description or "")[:300] or None,
            },
        )
    return findings


def measure_anomalies(
    instance: dg.DagsterInstance, keys: Iterable[dg.AssetCheckKey], config: AlertingConfig
) -> Findings:
    """Raw tables whose latest sync the anomaly check failed, when off by enough to tell."""
    findings = Findings()
    for key, record in _latest(instance, sorted(keys, key=str)).items():
        where = "/".join(key.asset_key.path)
        if record.status.value in IN_FLIGHT:
            findings.unknown.add(where)
            continue
        evaluation = _evaluation(record)
        if record.status.value != "FAILED" or evaluation is None:
            continue
        meta = {name: value.value for name, value in evaluation.metadata.items()}
        relative = meta.get("relative_deviation")
        if not isinstance(relative, int | float):
            continue
        severity = classify(ANOMALY_RULE, float(relative), config)
        if severity is None:
            continue
        rows, median = meta.get("rows_landed"), meta.get("trailing_median")
        findings.problems[where] = Alert(
            rule=ANOMALY_RULE,
            severity=severity,
            what=(
                f"A sync landed {rows:.0f} rows into {key.asset_key.to_user_string()},"
                f" against a trailing median of {median:.0f}"
                if isinstance(rows, int | float) and isinstance(median, int | float)
                else f"Row-count anomaly on {key.asset_key.to_user_string()}"
            ),
            where=where,
            since=datetime.fromtimestamp(record.event.timestamp, UTC),
            link=_link(config, key),
            details={
                "rows_landed": rows,
                "trailing_median": median,
                "relative_deviation": relative,
                "modified_z_score": meta.get("modified_z_score"),
                "connector_id": meta.get("connector_id"),
            },
        )
    return findings


def build_test_failure_sensor(
    config: AlertingConfig, *, clock: Clock = utc_now
) -> dg.SensorDefinition:
    """``alerts__dbt_test_failure_sensor``: every failing check of the code location's graph."""

    def measure(
        context: dg.SensorEvaluationContext, watch: dict[str, Any], now: datetime
    ) -> Findings:
        if context.repository_def is None:
            raise dg.Failure("the test-failure sensor needs its code location's definitions")
        keys = context.repository_def.asset_graph.asset_check_keys
        return measure_test_failures(context.instance, keys, config)

    return build_alert_sensor(
        "alerts__dbt_test_failure_sensor",
        "Failing dbt tests (asset checks): warn-severity to Slack, error-severity pages.",
        measure,
        config,
        clock=clock,
        minimum_interval_seconds=30,
    )


def build_anomaly_sensor(
    specs: Iterable[dg.AssetSpec], config: AlertingConfig, *, clock: Clock = utc_now
) -> dg.SensorDefinition:
    """``alerts__raw_row_count_anomaly_sensor``: big row-count anomalies of landed tables."""
    keys = [dg.AssetCheckKey(table.key, RAW_ANOMALY_CHECK) for table in raw_tables(specs)]

    def measure(
        context: dg.SensorEvaluationContext, watch: dict[str, Any], now: datetime
    ) -> Findings:
        return measure_anomalies(context.instance, keys, config)

    return build_alert_sensor(
        "alerts__raw_row_count_anomaly_sensor",
        "A sync landing far more or fewer rows than the table's trailing syncs (Slack).",
        measure,
        config,
        clock=clock,
        minimum_interval_seconds=60,
    )
