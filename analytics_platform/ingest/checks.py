"""Raw-table checks: did each landed table keep its sync schedule, and was its last sync sane?

Two asset checks on every Fivetran connector table (``fivetran/<schema>/<table>``), the SDD's
"Sources: freshness (required), row-count anomaly (optional)":

* ``raw_freshness``: how late the table is against its connector's schedule
  (``sync_frequency`` from the Fivetran API). The table counts as current as of its latest
  reported sync or the connector's latest successful sync, whichever is newer: a sync that
  changes nothing reports no materialization (``ingest/changes.py``), yet leaves the table up
  to date, so a quiet dimension must not look stale. More than 30 min late warns, more than
  60 min errors, the SDD's source freshness (``warn_after`` 30, ``error_after`` 60 minutes).
* ``raw_row_count_anomaly``: the latest reported sync's ``dagster/row_count_delta`` against the
  table's trailing reports, by the modified z-score (median and MAD, Iglewicz and Hoaglin),
  which one earlier outlier in the history cannot drag along the way a mean and a standard
  deviation would. A table with fewer than :data:`MIN_HISTORY` earlier reports passes: a new
  table has no normal yet.

The landed tables are external assets: no run materializes them, so no run would execute their
checks. The sensor :func:`build_raw_checks_sensor` evaluates both and returns the evaluations
as ``SensorResult(asset_events=[AssetCheckEvaluation, ...])``; in dagster 1.13.27 the sensor
daemon records each through ``instance.report_runless_asset_event`` (verified in
``dagster/_daemon/sensor.py``). The check definitions run the same evaluation, so "Execute"
in the UI agrees with the sensor.

The Fivetran Platform Connector tables (``fivetran/fivetran_metadata/*``) have no connector
schedule and no sync reports of their own (the observers report connector tables only), so
they get no checks rather than checks that could never pass or fail.
"""

import json
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from dagster_fivetran.translator import FivetranMetadataSet

RAW_FRESHNESS_CHECK = "raw_freshness"
RAW_ANOMALY_CHECK = "raw_row_count_anomaly"
RAW_CHECK_NAMES = frozenset({RAW_FRESHNESS_CHECK, RAW_ANOMALY_CHECK})
ROW_COUNT_DELTA = "dagster/row_count_delta"
"""Materialization metadata the observers report: rows one sync wrote into the table."""

FRESHNESS_WARN_MINUTES = 30.0
FRESHNESS_ERROR_MINUTES = 60.0
MIN_HISTORY = 5
"""Earlier reports a table needs before its latest sync can be called an anomaly."""
MAX_HISTORY = 30
"""Trailing reports compared against: about a day of a 15-minute connector's changing syncs."""
ANOMALY_CUTOFF = 3.5
"""Modified z-score beyond which a sync is an outlier (Iglewicz and Hoaglin's cut-off)."""
MIN_RELATIVE_SCALE = 0.05
"""Floor of the spread, as a share of the median: a table that always lands exactly 24 rows
(a full-replace sheet) has no spread at all, and 25 rows is not an anomaly."""

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock in UTC (the default clock of sensors; tests inject their own)."""
    return datetime.now(UTC)


def parse_time(value: Any) -> datetime | None:
    """A Fivetran API timestamp (``2026-03-02T10:00:00.123Z``) as an aware datetime."""
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- what is checked -----------------------------------------------------------------------


@dataclass(frozen=True)
class RawTable:
    """One landed table of a Fivetran connector."""

    key: dg.AssetKey
    connector_id: str
    schema: str
    table: str


def raw_tables(specs: Iterable[dg.AssetSpec]) -> list[RawTable]:
    """The connector tables among ``specs``, from dagster-fivetran's spec metadata."""
    tables = []
    for spec in specs:
        meta = FivetranMetadataSet.extract(spec.metadata)
        if meta.connector_id and meta.destination_schema_name and meta.destination_table_name:
            tables.append(
                RawTable(
                    spec.key,
                    meta.connector_id,
                    meta.destination_schema_name,
                    meta.destination_table_name,
                )
            )
    return sorted(tables, key=lambda table: table.key.to_user_string())


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


# --- schedule and freshness ----------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """What the Fivetran API says about a connector's schedule and its latest syncs."""

    frequency_minutes: float
    last_success: datetime | None
    created_at: datetime | None
    paused: bool
    connected: bool
    sync_state: str | None = None


def connector_schedule(details: Mapping[str, Any]) -> Schedule | None:
    """The schedule in a ``GET /v1/connectors/{id}`` object (None: it has no frequency)."""
    frequency = details.get("sync_frequency")
    if frequency is None:
        return None
    status = details.get("status") or {}
    return Schedule(
        frequency_minutes=float(frequency),
        last_success=parse_time(details.get("succeeded_at")),
        created_at=parse_time(details.get("created_at")),
        paused=bool(details.get("paused")),
        connected=status.get("setup_state", "connected") == "connected",
        sync_state=status.get("sync_state"),
    )


def minutes_late(last_update: datetime, frequency_minutes: float, now: datetime) -> float:
    """Minutes past the moment the next sync was due (negative: it is not due yet)."""
    return (now - last_update).total_seconds() / 60 - frequency_minutes


@dataclass(frozen=True)
class CheckOutcome:
    """One evaluated check, convertible to a runless evaluation or a run's check result."""

    key: dg.AssetKey
    check_name: str
    passed: bool
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.WARN
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``pass``, ``warn`` or ``error``: what the sensor remembers between ticks."""
        return "pass" if self.passed else self.severity.value.lower()

    def evaluation(self) -> dg.AssetCheckEvaluation:
        """As reported by a sensor (no run)."""
        return dg.AssetCheckEvaluation(
            asset_key=self.key,
            check_name=self.check_name,
            passed=self.passed,
            severity=self.severity,
            description=self.description,
            metadata=dict(self.metadata),
        )

    def result(self) -> dg.AssetCheckResult:
        """As yielded by the check definition inside a run."""
        return dg.AssetCheckResult(
            asset_key=self.key,
            check_name=self.check_name,
            passed=self.passed,
            severity=self.severity,
            description=self.description,
            metadata=dict(self.metadata),
        )


def freshness_outcome(
    table: RawTable, schedule: Schedule, last_reported: datetime | None, now: datetime
) -> CheckOutcome | None:
    """The ``raw_freshness`` outcome of ``table`` at ``now`` (None: nothing to judge).

    A paused connector passes: pausing is the SDD's deliberate step while a breaking schema
    change is handled, and Fivetran itself shows it as paused, not delayed.
    """
    if not schedule.connected:
        return None
    candidates = [moment for moment in (schedule.last_success, last_reported) if moment]
    last_update = max(candidates) if candidates else schedule.created_at
    if last_update is None:
        return None
    late = minutes_late(last_update, schedule.frequency_minutes, now)
    metadata: dict[str, Any] = {
        "minutes_late": round(late, 1),
        "sync_frequency_minutes": schedule.frequency_minutes,
        "current_as_of": last_update.isoformat(),
        "connector_id": table.connector_id,
        "connector_paused": schedule.paused,
    }
    if schedule.paused:
        return CheckOutcome(
            table.key, RAW_FRESHNESS_CHECK, True, description="Connector paused.", metadata=metadata
        )
    if late > FRESHNESS_ERROR_MINUTES:
        severity, passed = dg.AssetCheckSeverity.ERROR, False
    elif late > FRESHNESS_WARN_MINUTES:
        severity, passed = dg.AssetCheckSeverity.WARN, False
    else:
        severity, passed = dg.AssetCheckSeverity.WARN, True
    description = (
        f"{max(late, 0.0):.0f} min late against a {schedule.frequency_minutes:.0f}-min schedule"
        f" (current as of {last_update:%Y-%m-%d %H:%M} UTC)."
    )
    return CheckOutcome(table.key, RAW_FRESHNESS_CHECK, passed, severity, description, metadata)


# --- row-count anomaly ---------------------------------------------------------------------


@dataclass(frozen=True)
class AnomalyScore:
    """How far one sync's row delta lies from the trailing history of the same table."""

    latest: float
    history_length: int
    median: float | None = None
    mad: float | None = None
    score: float | None = None
    relative_deviation: float | None = None
    cutoff: float = ANOMALY_CUTOFF

    @property
    def enough_history(self) -> bool:
        """Whether there was a history to compare against at all."""
        return self.score is not None

    @property
    def anomalous(self) -> bool:
        """Beyond the cut-off, in either direction."""
        return self.score is not None and abs(self.score) > self.cutoff


def row_count_anomaly(
    latest: float,
    history: Sequence[float],
    *,
    min_history: int = MIN_HISTORY,
    cutoff: float = ANOMALY_CUTOFF,
) -> AnomalyScore:
    """Score ``latest`` against ``history`` (earlier syncs' row deltas) with robust statistics.

    The modified z-score ``(x - median) / (1.4826 * MAD)`` treats the MAD as a standard
    deviation would be on normal data. When more than half of the history is identical the MAD
    is 0; the mean absolute deviation (times 1.2533) stands in, and the spread never drops below
    :data:`MIN_RELATIVE_SCALE` of the median nor one row, so a constant table tolerates small
    changes and still flags a doubling.

    Args:
        latest: Rows the latest sync landed.
        history: Rows each earlier sync landed (any order).
        min_history: Fewer earlier syncs than this: no score (not an anomaly).
        cutoff: Absolute score beyond which ``anomalous`` is true.
    """
    if len(history) < min_history:
        return AnomalyScore(latest=latest, history_length=len(history), cutoff=cutoff)
    median = statistics.median(history)
    mad = statistics.median(abs(value - median) for value in history)
    spread = 1.4826 * mad
    if spread == 0:
        spread = 1.2533 * statistics.fmean(abs(value - median) for value in history)
    spread = max(spread, MIN_RELATIVE_SCALE * abs(median), 1.0)
    relative = abs(latest - median) / abs(median) if median else float(latest != 0)
    return AnomalyScore(
        latest=latest,
        history_length=len(history),
        median=median,
        mad=mad,
        score=(latest - median) / spread,
        relative_deviation=relative,
        cutoff=cutoff,
    )


def anomaly_outcome(table: RawTable, deltas: Sequence[float]) -> CheckOutcome | None:
    """The ``raw_row_count_anomaly`` outcome from the table's row deltas, newest first."""
    if not deltas:
        return None
    scored = row_count_anomaly(deltas[0], deltas[1:])
    metadata: dict[str, Any] = {
        "rows_landed": deltas[0],
        "history_length": scored.history_length,
        "connector_id": table.connector_id,
    }
    if scored.median is None or scored.score is None:
        description = f"Not enough history yet ({scored.history_length} of {MIN_HISTORY} syncs)."
        return CheckOutcome(
            table.key, RAW_ANOMALY_CHECK, True, description=description, metadata=metadata
        )
    metadata |= {
        "trailing_median": scored.median,
        "trailing_mad": scored.mad,
        "modified_z_score": round(scored.score, 2),
        "relative_deviation": round(scored.relative_deviation or 0.0, 4),
    }
    description = (
        f"Latest sync landed {deltas[0]:.0f} rows; the trailing median is {scored.median:.0f}"
        f" (modified z-score {scored.score:.1f}, cut-off {scored.cutoff})."
    )
    return CheckOutcome(
        table.key,
        RAW_ANOMALY_CHECK,
        not scored.anomalous,
        dg.AssetCheckSeverity.WARN,
        description,
        metadata,
    )


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


# --- definitions ---------------------------------------------------------------------------


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
