"""The raw-table checks as Dagster definitions: the check specs, the sensor, the run path.

The landed tables are external assets: no run materializes them, so no run would execute their
checks. :func:`build_raw_checks_sensor` evaluates both checks and returns the evaluations as
``SensorResult(asset_events=[AssetCheckEvaluation, ...])``, which the sensor daemon records as
runless asset events. The check definitions run the same evaluation, so "Execute" in the UI
agrees with the sensor.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from analytics_platform.ingest.checks.anomaly import (
    ANOMALY_CUTOFF,
    MAX_HISTORY,
    MIN_HISTORY,
    anomaly_outcome,
)
from analytics_platform.ingest.checks.freshness import (
    FRESHNESS_ERROR_MINUTES,
    FRESHNESS_WARN_MINUTES,
    Schedule,
    connector_schedule,
    freshness_outcome,
)
from analytics_platform.ingest.checks.tables import (
    RAW_ANOMALY_CHECK,
    RAW_FRESHNESS_CHECK,
    ROW_COUNT_DELTA,
    CheckOutcome,
    Clock,
    RawTable,
    raw_tables,
    utc_now,
)


def raw_check_specs(tables: Iterable[RawTable]) -> list[dg.AssetCheckSpec]:
    """The two checks of every table (non-blocking: nothing downstream waits on them)."""
    specs = []
    for table in tables:
        specs += [
            dg.AssetCheckSpec(
                RAW_FRESHNESS_CHECK,
                asset=table.key,
                description=(
                    "Minutes late against the connector's sync schedule: warns past"
                    f" {FRESHNESS_WARN_MINUTES:.0f}, errors past {FRESHNESS_ERROR_MINUTES:.0f}."
                ),
            ),
            dg.AssetCheckSpec(
                RAW_ANOMALY_CHECK,
                asset=table.key,
                description=(
                    "Rows the latest sync landed against the table's trailing syncs"
                    f" (modified z-score over median/MAD > {ANOMALY_CUTOFF});"
                    f" needs {MIN_HISTORY} earlier syncs."
                ),
            ),
        ]
    return specs


@dataclass(frozen=True)
class Reports:
    """The trailing sync reports (materializations) of one table, newest first."""

    deltas: list[float]
    latest_storage_id: int | None
    latest_at: datetime | None


def sync_reports(instance: dg.DagsterInstance, key: dg.AssetKey) -> Reports:
    """Read the table's trailing materializations and their reported row deltas."""
    records = instance.fetch_materializations(key, limit=MAX_HISTORY + 1).records
    deltas: list[float] = []
    for record in records:
        materialization = record.asset_materialization
        value = materialization.metadata.get(ROW_COUNT_DELTA) if materialization else None
        if value is not None and isinstance(value.value, int | float):
            deltas.append(float(value.value))
    latest = records[0] if records else None
    return Reports(
        deltas=deltas,
        latest_storage_id=latest.storage_id if latest else None,
        latest_at=datetime.fromtimestamp(latest.timestamp, UTC) if latest else None,
    )


def _schedules(client: Any, connector_ids: Iterable[str], log: Any) -> dict[str, Schedule | None]:
    schedules: dict[str, Schedule | None] = {}
    for connector_id in sorted(set(connector_ids)):
        try:
            schedules[connector_id] = connector_schedule(client.get_connector_details(connector_id))
        except Exception as exc:  # one unreachable connector must not hide the others
            log.warning("cannot read the schedule of %s: %s", connector_id, type(exc).__name__)
    return schedules


def evaluate(
    instance: dg.DagsterInstance,
    client: Any,
    tables: Sequence[RawTable],
    now: datetime,
    log: Any,
) -> tuple[list[CheckOutcome], dict[dg.AssetKey, Reports]]:
    """Both checks of every table (the run path and the sensor path share this)."""
    schedules = _schedules(client, (table.connector_id for table in tables), log)
    outcomes: list[CheckOutcome] = []
    reports: dict[dg.AssetKey, Reports] = {}
    for table in tables:
        reports[table.key] = found = sync_reports(instance, table.key)
        schedule = schedules.get(table.connector_id)
        if schedule is not None:
            fresh = freshness_outcome(table, schedule, found.latest_at, now)
            if fresh is not None:
                outcomes.append(fresh)
        anomaly = anomaly_outcome(table, found.deltas)
        if anomaly is not None:
            outcomes.append(anomaly)
    return outcomes, reports


def build_raw_checks_sensor(
    tables: Sequence[RawTable],
    *,
    clock: Clock = utc_now,
    minimum_interval_seconds: int = 60,
) -> dg.SensorDefinition:
    """The sensor that evaluates the raw-table checks and records them without a run.

    Its JSON cursor keeps, per table, the last sync report scored (each sync is scored once)
    and the last freshness outcome recorded (a new evaluation is recorded when the outcome
    changes, not every minute: the check history shows transitions).
    """

    @dg.sensor(
        name="fivetran__raw_checks_sensor",
        description="Freshness and row-count anomaly checks of every landed Fivetran table.",
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        required_resource_keys={"fivetran"},
    )
    def raw_checks_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        state: dict[str, Any] = json.loads(context.cursor) if context.cursor else {}
        scored: dict[str, int] = state.setdefault("anomaly", {})
        recorded: dict[str, str] = state.setdefault("freshness", {})
        client = context.resources.fivetran.get_client()
        outcomes, reports = evaluate(context.instance, client, tables, clock(), context.log)
        events: list[dg.AssetCheckEvaluation] = []
        for outcome in outcomes:
            name = outcome.key.to_user_string()
            if outcome.check_name == RAW_ANOMALY_CHECK:
                latest = reports[outcome.key].latest_storage_id
                if latest is None or scored.get(name) == latest:
                    continue
                scored[name] = latest
            elif recorded.get(name) == outcome.label:
                continue
            else:
                recorded[name] = outcome.label
            events.append(outcome.evaluation())
        return dg.SensorResult(asset_events=events, cursor=json.dumps(state, sort_keys=True))

    return raw_checks_sensor


def build_raw_checks(
    tables: Sequence[RawTable], *, clock: Clock = utc_now
) -> dg.AssetChecksDefinition:
    """The check definitions (so the UI lists them, and "Execute" evaluates them in a run)."""

    @dg.multi_asset_check(
        name="fivetran__raw_checks",
        specs=raw_check_specs(tables),
        can_subset=True,
        required_resource_keys={"fivetran"},
        description="Freshness and row-count anomaly of landed Fivetran tables.",
    )
    def raw_checks(context: dg.AssetCheckExecutionContext) -> Iterable[dg.AssetCheckResult]:
        selected = context.selected_asset_check_keys
        chosen = [
            table for table in tables if any(check.asset_key == table.key for check in selected)
        ]
        client = context.resources.fivetran.get_client()
        outcomes, _ = evaluate(context.instance, client, chosen, clock(), context.log)
        done = set()
        for outcome in outcomes:
            check = dg.AssetCheckKey(outcome.key, outcome.check_name)
            if check in selected:
                done.add(check)
                yield outcome.result()
        # A run must answer for every selected check: the ones with nothing to judge pass.
        for check in sorted(selected - done, key=str):
            yield dg.AssetCheckResult(
                asset_key=check.asset_key,
                check_name=check.name,
                passed=True,
                description="Nothing to evaluate yet (no schedule or no sync reported).",
            )

    return raw_checks


def build_raw_check_defs(
    specs: Iterable[dg.AssetSpec], *, clock: Clock = utc_now
) -> dg.Definitions:
    """The raw-table checks and their sensor for the Fivetran tables among ``specs``."""
    tables = raw_tables(specs)
    if not tables:
        return dg.Definitions()
    return dg.Definitions(
        asset_checks=[build_raw_checks(tables, clock=clock)],
        sensors=[build_raw_checks_sensor(tables, clock=clock)],
    )
