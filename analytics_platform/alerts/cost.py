"""Snowflake cost: credits used against the monthly quota, and time queries spend queued.

Two rows of the design's alert matrix, measured by one sensor from the account's usage views
through the ``warehouse`` resource (the same ``get_connection()`` as every other warehouse
read):

* ``snowflake_credit_usage``: the credits of ``METERING_HISTORY`` since the start of the
  month (UTC, when a resource monitor's monthly quota resets) as a percent of the monthly
  quota in ``alerting.yaml`` (``snowflake.monthly_credit_quota``). One incident for the
  account; a new month, or a larger quota, resolves it.
* ``snowflake_query_queue``: per warehouse, the average ``QUEUED_OVERLOAD_TIME`` of the
  queries of ``QUERY_HISTORY`` that started in the last hour, in minutes. One incident per
  warehouse; an hour of short queues resolves it.

The SQL names its relations through :class:`AccountUsage`, so a test points it at tables shaped
like Snowflake's views; it uses only what Snowflake and DuckDB both parse. The account-usage
views trail real time (queries by tens of minutes, metering by hours), which is why the sensor
ticks every few minutes, not every few seconds.

On the embedded DuckDB warehouse (``ENVIRONMENT=local`` or ``ci``) there is no account usage:
the sensor skips every tick, saying so, and keeps nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from analytics_platform.alerts.incidents import Findings, build_alert_sensor, known_secrets
from analytics_platform.alerts.policy import (
    DEFAULT_CONFIG_PATH,
    AlertingConfig,
    AlertingConfigError,
    classify,
)
from analytics_platform.alerts.render import Alert, redact
from analytics_platform.ingest.checks import Clock, utc_now

CREDIT_RULE = "snowflake_credit_usage"
QUEUE_RULE = "snowflake_query_queue"
SENSOR_NAME = "alerts__snowflake_cost_sensor"
ACCOUNT_WHERE = "snowflake/account"
QUEUE_WINDOW = timedelta(hours=1)
"""The window the queue's average is taken over (``alerting.yaml``'s metric says "last hour")."""
MAX_ERROR_CHARS = 300

NO_ACCOUNT_USAGE = (
    "no Snowflake account usage on the embedded DuckDB warehouse (ENVIRONMENT is not prod):"
    " credit and queue alerts are measured on Snowflake only"
)


@dataclass(frozen=True)
class AccountUsage:
    """Where the usage views are: Snowflake's own, or tables shaped like them (tests)."""

    metering_history: str = "snowflake.account_usage.metering_history"
    query_history: str = "snowflake.account_usage.query_history"


SNOWFLAKE_ACCOUNT_USAGE = AccountUsage()


# --- the quota: configuration in alerting.yaml ---------------------------------------------


class _SnowflakeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    monthly_credit_quota: float = Field(gt=0, strict=True)


class _QuotaFile(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    snowflake: _SnowflakeSpec | None = None


def load_monthly_credit_quota(path: Path | None = None) -> float | None:
    """The ``snowflake.monthly_credit_quota`` of ``alerting.yaml`` (None when absent).

    Args:
        path: The file to read; the repository's ``alerting.yaml`` when None.

    Raises:
        AlertingConfigError: The value is not a positive number, naming the file and the key.
    """
    path = path or DEFAULT_CONFIG_PATH
    try:
        data = yaml.safe_load(path.read_text()) or {}
        spec = _QuotaFile.model_validate(data).snowflake
    except (OSError, yaml.YAMLError) as exc:
        raise AlertingConfigError(f"cannot read {path}: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise AlertingConfigError(f"{path}: {problems}") from None
    return spec.monthly_credit_quota if spec else None


# --- the SQL ----------------------------------------------------------------------------------


def _instant(moment: datetime) -> str:
    """A literal both Snowflake and DuckDB read as this instant (our own value, never input)."""
    return f"cast('{moment.astimezone(UTC).isoformat()}' as timestamp with time zone)"


def month_start(now: datetime) -> datetime:
    """The start of ``now``'s month in UTC: when a monthly credit quota starts counting."""
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def credits_sql(usage: AccountUsage, now: datetime) -> str:
    """Credits used (compute and cloud services) this month, and the latest hour metered."""
    return (
        "select coalesce(sum(credits_used), 0) as credits_used, max(end_time) as metered_until"
        f" from {usage.metering_history}"
        f" where start_time >= {_instant(month_start(now))}"
        f" and start_time < {_instant(now)}"
    )


def queue_sql(usage: AccountUsage, now: datetime) -> str:
    """Per warehouse: queries started in the last hour and their mean and max overload queue."""
    return (
        "select warehouse_name, count(*) as queries,"
        " avg(queued_overload_time) / 60000.0 as avg_queued_minutes,"
        " max(queued_overload_time) / 60000.0 as max_queued_minutes"
        f" from {usage.query_history}"
        f" where start_time >= {_instant(now - QUEUE_WINDOW)}"
        f" and start_time < {_instant(now)}"
        " and warehouse_name is not null"
        " group by warehouse_name"
        " order by warehouse_name"
    )


def _fetch(connection: Any, query: str) -> list[Sequence[Any]]:
    """Rows of ``query`` over the warehouse's DB-API connection (Snowflake or DuckDB)."""
    cursor = connection.cursor()
    try:
        cursor.execute(query)
        return list(cursor.fetchall())
    finally:
        cursor.close()


@dataclass(frozen=True)
class QueueReading:
    """One warehouse's queue over the window."""

    warehouse: str
    queries: int
    avg_minutes: float
    max_minutes: float


@dataclass(frozen=True)
class UsageReading:
    """What one tick read from the usage views."""

    credits_used: float
    metered_until: datetime | None
    queues: tuple[QueueReading, ...]


def read_usage(connection: Any, usage: AccountUsage, now: datetime) -> UsageReading:
    """Both readings, over one connection."""
    [(credits, metered_until)] = _fetch(connection, credits_sql(usage, now))
    queues = tuple(
        QueueReading(str(name), int(count), float(mean or 0), float(peak or 0))
        for name, count, mean, peak in _fetch(connection, queue_sql(usage, now))
    )
    until = metered_until if isinstance(metered_until, datetime) else None
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    return UsageReading(float(credits or 0), until, queues)


# --- from readings to alerts -----------------------------------------------------------------


def queue_where(warehouse: str) -> str:
    """The stable place of a warehouse's queue incident."""
    return f"snowflake/warehouse/{warehouse}"


def credit_alert(
    reading: UsageReading, quota: float, now: datetime, config: AlertingConfig
) -> Alert | None:
    """The account's credit alert (None while under the warning threshold)."""
    percent = 100 * reading.credits_used / quota
    severity = classify(CREDIT_RULE, percent, config)
    if severity is None:
        return None
    month = month_start(now)
    return Alert(
        rule=CREDIT_RULE,
        severity=severity,
        what=(
            f"Snowflake has used {percent:.0f}% of its monthly credit quota"
            f" ({reading.credits_used:.1f} of {quota:g} credits since {month:%Y-%m-%d})"
        ),
        where=ACCOUNT_WHERE,
        since=now,
        details={
            "credits_used": round(reading.credits_used, 3),
            "monthly_credit_quota": quota,
            "percent_of_quota": round(percent, 1),
            "month": f"{month:%Y-%m}",
            "metered_until": reading.metered_until.isoformat() if reading.metered_until else None,
        },
    )


def queue_alert(reading: QueueReading, now: datetime, config: AlertingConfig) -> Alert | None:
    """A warehouse's queue alert (None while its average queue is short enough)."""
    severity = classify(QUEUE_RULE, reading.avg_minutes, config)
    if severity is None:
        return None
    return Alert(
        rule=QUEUE_RULE,
        severity=severity,
        what=(
            f"Queries on Snowflake warehouse {reading.warehouse} waited {reading.avg_minutes:.1f}"
            f" min on average in the queue over the last hour ({reading.queries} queries)"
        ),
        where=queue_where(reading.warehouse),
        since=now,
        details={
            "warehouse": reading.warehouse,
            "queries": reading.queries,
            "avg_queued_overload_minutes": round(reading.avg_minutes, 2),
            "max_queued_overload_minutes": round(reading.max_minutes, 2),
        },
    )


def judge(
    reading: UsageReading, quota: float | None, now: datetime, config: AlertingConfig
) -> Findings:
    """The problems in one reading; the warehouses read are kept for a tick that cannot read."""
    findings = Findings()
    if quota is None:
        # Unmeasured is not healthy: an open credit incident stays open, unannounced.
        findings.unknown.add(ACCOUNT_WHERE)
    else:
        alert = credit_alert(reading, quota, now, config)
        if alert is not None:
            findings.problems[alert.where] = alert
    for queue in reading.queues:
        alert = queue_alert(queue, now, config)
        if alert is not None:
            findings.problems[alert.where] = alert
    findings.state = {
        "queued": sorted(where for where in findings.problems if where != ACCOUNT_WHERE)
    }
    return findings


def measure_cost(
    context: dg.SensorEvaluationContext,
    usage: AccountUsage,
    quota: float | None,
    watch: dict[str, Any],
    now: datetime,
    config: AlertingConfig,
) -> Findings:
    """Read the usage views; a failed read leaves every open incident as it is."""
    try:
        with context.resources.warehouse.get_connection() as connection:
            reading = read_usage(connection, usage, now)
    except Exception as exc:  # a lost grant or an outage: measure nothing, resolve nothing
        problem = redact(f"{type(exc).__name__}: {exc}", known_secrets())[:MAX_ERROR_CHARS]
        context.log.warning("Snowflake cost: cannot read account usage: %s", problem)
        unknown = {ACCOUNT_WHERE, *watch.get("queued", [])}
        return Findings(unknown=unknown, state=dict(watch))
    if quota is None:
        context.log.warning(
            "Snowflake cost: no snowflake.monthly_credit_quota in alerting.yaml, credits unmeasured"
        )
    return judge(reading, quota, now, config)


def build_cost_sensor(
    config: AlertingConfig,
    *,
    account_usage: AccountUsage | None,
    monthly_credit_quota: float | None,
    clock: Clock = utc_now,
    minimum_interval_seconds: int = 300,
) -> dg.SensorDefinition:
    """``alerts__snowflake_cost_sensor``: monthly credits against the quota, and queue time.

    Args:
        config: The alerting policy.
        account_usage: Where the usage views are; None on a warehouse without them (DuckDB),
            where the sensor only says why it measures nothing.
        monthly_credit_quota: ``alerting.yaml``'s quota; None leaves credits unmeasured.
        clock: The time windows are measured against.
        minimum_interval_seconds: How often the views are read.
    """
    description = (
        "Snowflake credits this month against the monthly quota, and the average time queries"
        " queue per warehouse over the last hour (warning to Slack, critical pages)."
    )
    if account_usage is None:

        @dg.sensor(
            name=SENSOR_NAME,
            description=description,
            minimum_interval_seconds=minimum_interval_seconds,
            default_status=dg.DefaultSensorStatus.RUNNING,
        )
        def no_account_usage(context: dg.SensorEvaluationContext) -> dg.SkipReason:
            return dg.SkipReason(NO_ACCOUNT_USAGE)

        return no_account_usage

    usage = account_usage

    def measure(
        context: dg.SensorEvaluationContext, watch: dict[str, Any], now: datetime
    ) -> Findings:
        return measure_cost(context, usage, monthly_credit_quota, watch, now, config)

    return build_alert_sensor(
        SENSOR_NAME,
        description,
        measure,
        config,
        clock=clock,
        minimum_interval_seconds=minimum_interval_seconds,
        required_resource_keys={"warehouse"},
    )
