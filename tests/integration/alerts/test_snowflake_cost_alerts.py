"""The Snowflake cost rows of the alert matrix: credits against the quota, and queue time.

The sensor is the production one (``build_cost_sensor`` with Snowflake's relation names),
evaluated tick by tick against a real Dagster instance with the real Slack and PagerDuty
stand-ins receiving. Its ``warehouse`` resource is the DuckDB resource of the local platform,
over a file whose catalog is ``snowflake`` and whose tables are shaped like the account-usage
views, so the SQL that runs is the SQL production runs. Time passes on the sensor's clock.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from analytics_platform.alerts.cost import SNOWFLAKE_ACCOUNT_USAGE, build_cost_sensor, month_start
from analytics_platform.notify import AlertingConfig
from tests.integration.alerts.conftest import StandIn
from tests.integration.alerts.sensing import Clock, Ticker, incidents, pager_events, slack_texts
from tests.unit.alerts.account_usage import account_usage_file, meter, query

QUOTA = 1000.0
CREDIT_PAGE = "fieldforce/snowflake_credit_usage/snowflake/account"
QUEUE_PAGE = "fieldforce/snowflake_query_queue/snowflake/warehouse/TRANSFORMING"


@pytest.fixture
def usage_file(tmp_path: Path) -> Path:
    return account_usage_file(tmp_path)


@pytest.fixture
def sensor(
    config: AlertingConfig,
    instance: dg.DagsterInstance,
    notifiers: dict[str, Any],
    usage_file: Path,
) -> Iterator[tuple[Ticker, Clock]]:
    clock = Clock()
    clock.at(datetime(2026, 3, 20, 12, 0, tzinfo=UTC))
    definition = build_cost_sensor(
        config,
        account_usage=SNOWFLAKE_ACCOUNT_USAGE,
        monthly_credit_quota=QUOTA,
        clock=clock,
    )
    resources = {**notifiers, "warehouse": DuckDBResource(database=str(usage_file))}
    yield Ticker(definition, instance, resources), clock


def _write(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path))


def test_credit_usage_warns_pages_and_a_new_month_resolves(
    sensor: tuple[Ticker, Clock],
    usage_file: Path,
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    ticker, clock = sensor
    now = clock()
    with _write(usage_file) as db:
        meter(db, month_start(now), 700)
    ticker.tick()
    assert slack_texts(slack_standin) == []  # 70 % of the quota

    with _write(usage_file) as db:
        meter(db, now - timedelta(hours=3), 120)
    ticker.tick()
    ticker.tick()  # the same problem: no second post
    [warning] = slack_texts(slack_standin)
    assert warning.startswith(
        ":warning: *WARNING*: Snowflake has used 82% of its monthly credit quota"
    )
    assert "snowflake/account" in warning
    assert pager_events(pagerduty_standin) == []

    with _write(usage_file) as db:
        meter(db, now - timedelta(hours=2), 140)
    ticker.tick()
    texts = slack_texts(slack_standin)
    assert len(texts) == 2 and texts[1].startswith(":rotating_light: *CRITICAL*: Snowflake")
    assert "96%" in texts[1]
    assert pager_events(pagerduty_standin) == [("trigger", CREDIT_PAGE)]
    [incident] = pagerduty_standin.recorded()["incidents"]
    assert incident["custom_details"]["monthly_credit_quota"] == QUOTA

    clock.at(datetime(2026, 4, 1, 0, 30, tzinfo=UTC))  # the quota starts over
    ticker.tick()
    assert incidents(pagerduty_standin) == {CREDIT_PAGE: "resolved"}
    assert slack_texts(slack_standin)[2].startswith(":white_check_mark: *RESOLVED*: Snowflake")
    ticker.tick()
    assert len(slack_texts(slack_standin)) == 3


def test_query_queue_warns_pages_and_short_queues_resolve(
    sensor: tuple[Ticker, Clock],
    usage_file: Path,
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    ticker, clock = sensor
    now = clock()
    with _write(usage_file) as db:
        query(db, now - timedelta(minutes=40), 4)
        query(db, now - timedelta(minutes=30), 10)  # 7 min on average
        query(db, now - timedelta(minutes=30), 0, warehouse="REPORTING")
    ticker.tick()
    [warning] = slack_texts(slack_standin)
    assert warning.startswith(
        ":warning: *WARNING*: Queries on Snowflake warehouse TRANSFORMING waited 7.0 min"
    )
    assert pager_events(pagerduty_standin) == []

    with _write(usage_file) as db:
        query(db, now - timedelta(minutes=10), 40)  # (4 + 10 + 40) / 3 = 18 min
    ticker.tick()
    texts = slack_texts(slack_standin)
    assert len(texts) == 2 and "waited 18.0 min" in texts[1]
    assert texts[1].startswith(":rotating_light: *CRITICAL*")
    assert pager_events(pagerduty_standin) == [("trigger", QUEUE_PAGE)]

    clock.at(now + timedelta(hours=2))
    with _write(usage_file) as db:
        query(db, clock() - timedelta(minutes=15), 0.5)
    ticker.tick()
    assert incidents(pagerduty_standin) == {QUEUE_PAGE: "resolved"}
    assert slack_texts(slack_standin)[2].startswith(
        ":white_check_mark: *RESOLVED*: Queries on Snowflake warehouse TRANSFORMING"
    )
