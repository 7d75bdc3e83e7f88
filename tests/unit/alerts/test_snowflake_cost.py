"""The Snowflake cost rows: their SQL on tables shaped like the usage views, and their verdicts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from analytics_platform.alerts import build_alert_defs
from analytics_platform.alerts.cost import (
    ACCOUNT_WHERE,
    NO_ACCOUNT_USAGE,
    SENSOR_NAME,
    SNOWFLAKE_ACCOUNT_USAGE,
    AccountUsage,
    judge,
    load_monthly_credit_quota,
    measure_cost,
    month_start,
    queue_where,
    read_usage,
)
from analytics_platform.alerts.policy import AlertingConfig, AlertingConfigError
from analytics_platform.notify import load_alerting_config
from tests.unit.alerts.account_usage import account_usage_file, create_views, meter, query

NOW = datetime(2026, 3, 20, 12, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def config() -> AlertingConfig:
    return load_alerting_config()


@pytest.fixture
def usage_db(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The views' tables in the catalog ``snowflake``: the production names resolve."""
    path = account_usage_file(tmp_path)
    with duckdb.connect(str(path)) as connection:
        yield connection


def test_credits_count_this_month_only(usage_db: duckdb.DuckDBPyConnection) -> None:
    meter(usage_db, month_start(NOW) - timedelta(hours=1), 500)  # last month
    meter(usage_db, month_start(NOW), 10.5)
    meter(usage_db, NOW - timedelta(hours=2), 4)
    meter(usage_db, NOW + timedelta(hours=1), 999)  # not yet metered at NOW

    reading = read_usage(usage_db, SNOWFLAKE_ACCOUNT_USAGE, NOW)

    assert reading.credits_used == pytest.approx(14.5)
    assert reading.metered_until == NOW - timedelta(hours=1)


def test_queue_averages_the_last_hour_per_warehouse(usage_db: duckdb.DuckDBPyConnection) -> None:
    query(usage_db, NOW - timedelta(minutes=10), 4)
    query(usage_db, NOW - timedelta(minutes=50), 8)
    query(usage_db, NOW - timedelta(minutes=70), 60)  # outside the hour
    query(usage_db, NOW - timedelta(minutes=5), 1, warehouse="REPORTING")
    query(usage_db, NOW - timedelta(minutes=5), 90, warehouse=None)  # no warehouse: no queue

    [reporting, transforming] = read_usage(usage_db, SNOWFLAKE_ACCOUNT_USAGE, NOW).queues

    assert (reporting.warehouse, reporting.queries) == ("REPORTING", 1)
    assert (transforming.warehouse, transforming.queries) == ("TRANSFORMING", 2)
    assert transforming.avg_minutes == pytest.approx(6)
    assert transforming.max_minutes == pytest.approx(8)


def test_relation_names_are_parameters() -> None:
    with duckdb.connect() as connection:
        create_views(connection)  # schema account_usage of the in-memory catalog
        meter(connection, NOW - timedelta(hours=3), 2)
        usage = AccountUsage(
            metering_history="account_usage.metering_history",
            query_history="account_usage.query_history",
        )
        assert read_usage(connection, usage, NOW).credits_used == pytest.approx(2)


@pytest.mark.parametrize(
    ("credits", "severity"),
    [(800, None), (801, "warning"), (950, "warning"), (951, "critical")],
)
def test_credit_percent_of_the_quota(
    usage_db: duckdb.DuckDBPyConnection,
    config: AlertingConfig,
    credits: float,
    severity: str | None,
) -> None:
    meter(usage_db, month_start(NOW), credits)
    findings = judge(read_usage(usage_db, SNOWFLAKE_ACCOUNT_USAGE, NOW), 1000, NOW, config)

    alert = findings.problems.get(ACCOUNT_WHERE)
    assert (alert.severity if alert else None) == severity
    if alert:
        assert alert.rule == "snowflake_credit_usage"
        assert alert.details["monthly_credit_quota"] == 1000
        assert f"{credits / 10:.0f}% of its monthly credit quota" in alert.what


@pytest.mark.parametrize(
    ("minutes", "severity"), [(5, None), (5.5, "warning"), (15, "warning"), (15.5, "critical")]
)
def test_queue_minutes_per_warehouse(
    usage_db: duckdb.DuckDBPyConnection,
    config: AlertingConfig,
    minutes: float,
    severity: str | None,
) -> None:
    query(usage_db, NOW - timedelta(minutes=20), minutes)
    findings = judge(read_usage(usage_db, SNOWFLAKE_ACCOUNT_USAGE, NOW), None, NOW, config)

    where = queue_where("TRANSFORMING")
    alert = findings.problems.get(where)
    assert (alert.severity if alert else None) == severity
    assert findings.state == {"queued": [where] if alert else []}
    # No quota: credits unmeasured, and an open credit incident is left as it is.
    assert ACCOUNT_WHERE not in findings.problems
    assert findings.unknown == {ACCOUNT_WHERE}


class _BrokenWarehouse(dg.ConfigurableResource):
    @contextmanager
    def get_connection(self) -> Iterator[Any]:
        raise RuntimeError("Insufficient privileges to operate on database 'SNOWFLAKE'")
        yield


def test_an_unreadable_account_keeps_open_incidents(config: AlertingConfig) -> None:
    watch = {"queued": [queue_where("TRANSFORMING")]}
    with dg.build_sensor_context(resources={"warehouse": _BrokenWarehouse()}) as context:
        findings = measure_cost(context, SNOWFLAKE_ACCOUNT_USAGE, 1000, watch, NOW, config)

    assert findings.problems == {}
    assert findings.unknown == {ACCOUNT_WHERE, queue_where("TRANSFORMING")}
    assert findings.state == watch


def test_the_quota_is_alerting_yaml_configuration(tmp_path: Path) -> None:
    path = tmp_path / "alerting.yaml"
    path.write_text("version: 1\nsnowflake:\n  monthly_credit_quota: 1200\n")
    assert load_monthly_credit_quota(path) == 1200

    path.write_text("version: 1\n")
    assert load_monthly_credit_quota(path) is None

    for bad in ("-5", "'a lot'", "1000\n  monthly_quota: 3"):
        path.write_text(f"version: 1\nsnowflake:\n  monthly_credit_quota: {bad}\n")
        with pytest.raises(AlertingConfigError, match=r"snowflake\.monthly_"):
            load_monthly_credit_quota(path)


def test_on_duckdb_the_sensor_skips_and_says_why(
    config: AlertingConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "local")
    defs = build_alert_defs([], config=config)
    sensor = defs.get_sensor_def(SENSOR_NAME)

    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    with dg.build_sensor_context() as context:
        result = sensor.evaluate_tick(context)
    assert result.skip_message == NO_ACCOUNT_USAGE
    assert not result.run_requests and result.cursor is None


def test_on_snowflake_the_sensor_reads_the_warehouse(
    config: AlertingConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "prod")
    sensor = build_alert_defs([], config=config).get_sensor_def(SENSOR_NAME)

    assert {"warehouse", "slack", "pagerduty"} <= set(sensor.required_resource_keys)
    assert sensor.description and "monthly quota" in sensor.description
