"""The Fivetran rows of the alert matrix fired by real faults: sync failure, delay, raw checks.

The sensors are the production ones (``build_alert_defs``), evaluated tick by tick against a
real Dagster instance, with the real Slack and PagerDuty stand-ins receiving. Faults are real:
the local Fivetran's fault injection fails syncs, and a bulk load at the source makes a sync
land far more rows than usual. Time-based rows (sync delay, raw freshness) run on the sensors'
injected clock, moved forward the way time would pass; the schedules and sync times they
measure come from the service.
"""

import itertools
from datetime import datetime, timedelta
from typing import Any

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource
from standins.fivetran import minisource
from standins.sources import catalog
from testkit.stack import Stack, pg_cluster

from analytics_platform.alerts import build_alert_defs
from analytics_platform.ingest.checks import RAW_ANOMALY_CHECK, RAW_FRESHNESS_CHECK
from analytics_platform.ingest.fivetran import ConfigurableFivetranWorkspace
from analytics_platform.ingest.observe import observe_connector, tables_by_connector
from analytics_platform.notify import AlertingConfig
from tests.integration.alerts.conftest import StandIn
from tests.integration.alerts.sensing import (
    UI,
    Clock,
    Ticker,
    incidents,
    pager_events,
    sensor_of,
    slack_texts,
)

__all__ = ["pg_cluster"]

NORTH = "postgres_jobs_bu_north"
SOUTH = "postgres_jobs_bu_south"
SERVICETITAN = "servicetitan_ops"
NORTH_WHERE = "fivetran/fivetran_postgres_bu_north"
FAILURE_SENSOR = "alerts__fivetran_sync_failure_sensor"
_ids = itertools.count(1)


# --- the world -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def warehouse(fivetran: Stack) -> DuckDBResource:
    """The warehouse the local Fivetran writes, its Platform Connector log included."""
    return DuckDBResource(database=str(fivetran.warehouse))


def fail_syncs(stack: Stack, connector_id: str, count: int) -> None:
    with stack.client() as client:
        response = client.post(
            f"/admin/faults/{connector_id}",
            json={"type": "fail", "count": count, "message": "connection reset by peer"},
        )
    response.raise_for_status()


def disarm(stack: Stack, connector_id: str) -> None:
    with stack.client() as client:
        client.delete(f"/admin/faults/{connector_id}").raise_for_status()


def patch_connector(stack: Stack, connector_id: str, **fields: object) -> None:
    with stack.client() as client:
        client.patch(f"/v1/connectors/{connector_id}", json=fields).raise_for_status()


def sync_status(stack: Stack, connector_id: str) -> str:
    [entry] = stack.sync(connector_id)
    return str(entry["status"])


# --- Fivetran: sync failures ---------------------------------------------------------------


def test_sync_failures_warn_page_once_and_resolve(
    fivetran: Stack,
    workspace: ConfigurableFivetranWorkspace,
    warehouse: DuckDBResource,
    fivetran_specs: list[dg.AssetSpec],
    config: AlertingConfig,
    instance: dg.DagsterInstance,
    notifiers: dict[str, Any],
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    defs = build_alert_defs(fivetran_specs, config=config)
    sensor = Ticker(
        sensor_of(defs, FAILURE_SENSOR),
        instance,
        {**notifiers, "fivetran": workspace, "warehouse": warehouse},
    )
    page_key = f"fieldforce/fivetran_sync_failure/{NORTH_WHERE}"

    sensor.tick()
    assert slack_texts(slack_standin) == []  # healthy: nothing said

    fail_syncs(fivetran, NORTH, 3)
    try:
        assert sync_status(fivetran, NORTH) == "FAILURE"
        first_failed_at = workspace.get_client().get_connector_details(NORTH)["failed_at"]
        sensor.tick()
        [first] = slack_texts(slack_standin)
        assert first.startswith(":warning: *WARNING*: Fivetran connector")
        assert "failed 1 sync in a row" in first
        assert f"`{NORTH_WHERE}`" in first
        assert f"{UI}/assets/fivetran/fivetran_postgres_bu_north" in first
        assert pager_events(pagerduty_standin) == []

        assert sync_status(fivetran, NORTH) == "FAILURE"
        sensor.tick()
        assert len(slack_texts(slack_standin)) == 1  # still a warning: nothing new to say

        assert sync_status(fivetran, NORTH) == "FAILURE"
        sensor.tick()
        texts = slack_texts(slack_standin)
        assert len(texts) == 2
        assert texts[1].startswith(":rotating_light: *CRITICAL*")
        assert "failed 3 syncs in a row" in texts[1]
        assert pager_events(pagerduty_standin) == [("trigger", page_key)]
        [incident] = pagerduty_standin.recorded()["incidents"]
        assert incident["severity"] == "critical"
        assert incident["custom_details"]["consecutive_failures"] == 3
        assert "connection reset by peer" in incident["custom_details"]["error"]
        # "since" is the first failure of the streak, not the third.
        since = datetime.fromisoformat(incident["custom_details"]["since"])
        assert since == datetime.fromisoformat(first_failed_at.replace("Z", "+00:00"))

        sensor.tick()  # the same incident: no re-post, no re-page
        assert len(slack_texts(slack_standin)) == 2
        assert pager_events(pagerduty_standin) == [("trigger", page_key)]

        assert sync_status(fivetran, NORTH) == "SUCCESSFUL"  # the fault ran out
        sensor.tick()
        assert pager_events(pagerduty_standin) == [("trigger", page_key), ("resolve", page_key)]
        assert incidents(pagerduty_standin) == {page_key: "resolved"}
        texts = slack_texts(slack_standin)
        assert len(texts) == 3 and texts[2].startswith(":white_check_mark: *RESOLVED*")

        sensor.tick()
        assert len(slack_texts(slack_standin)) == 3
        assert len(pager_events(pagerduty_standin)) == 2
        assert all("bu_south" not in text for text in slack_texts(slack_standin))
    finally:
        disarm(fivetran, NORTH)


@pytest.fixture
def failure_sensor(
    workspace: ConfigurableFivetranWorkspace,
    warehouse: DuckDBResource,
    fivetran_specs: list[dg.AssetSpec],
    config: AlertingConfig,
    instance: dg.DagsterInstance,
    notifiers: dict[str, Any],
) -> Ticker:
    """The failure sensor of a freshly loaded code location, with everything it reads."""
    return Ticker(
        sensor_of(build_alert_defs(fivetran_specs, config=config), FAILURE_SENSOR),
        instance,
        {**notifiers, "fivetran": workspace, "warehouse": warehouse},
    )


def test_failures_back_to_back_page_once_as_critical(
    fivetran: Stack,
    failure_sensor: Ticker,
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    """Three failed syncs between two ticks: the sync history counts three, and pages."""
    sensor = failure_sensor
    page_key = f"fieldforce/fivetran_sync_failure/{NORTH_WHERE}"
    sensor.tick()
    assert slack_texts(slack_standin) == []

    fail_syncs(fivetran, NORTH, 3)
    try:
        for _ in range(3):  # forced one after the other, no tick in between
            assert sync_status(fivetran, NORTH) == "FAILURE"
        sensor.tick()
        [critical] = slack_texts(slack_standin)
        assert critical.startswith(":rotating_light: *CRITICAL*: Fivetran connector")
        assert "failed 3 syncs in a row" in critical
        assert pager_events(pagerduty_standin) == [("trigger", page_key)]
        [incident] = pagerduty_standin.recorded()["incidents"]
        assert incident["severity"] == "critical"
        assert incident["custom_details"]["consecutive_failures"] == 3

        sensor.tick()  # once: no re-post, no re-page
        assert len(slack_texts(slack_standin)) == 1
        assert pager_events(pagerduty_standin) == [("trigger", page_key)]

        assert sync_status(fivetran, NORTH) == "SUCCESSFUL"
        sensor.tick()
        assert pager_events(pagerduty_standin) == [("trigger", page_key), ("resolve", page_key)]
    finally:
        disarm(fivetran, NORTH)


def test_a_daemon_restart_keeps_counting_the_streak(
    fivetran: Stack,
    failure_sensor: Ticker,
    fivetran_specs: list[dg.AssetSpec],
    config: AlertingConfig,
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    """One failure seen, a restart, two more back to back: three in a row, one page."""
    sensor = failure_sensor
    page_key = f"fieldforce/fivetran_sync_failure/{NORTH_WHERE}"
    sensor.tick()
    fail_syncs(fivetran, NORTH, 3)
    try:
        assert sync_status(fivetran, NORTH) == "FAILURE"
        sensor.tick()
        [warning] = slack_texts(slack_standin)
        assert "failed 1 sync in a row" in warning
        assert pager_events(pagerduty_standin) == []

        # The daemon restarts: a new code location, the sensor's stored cursor.
        restarted = Ticker(
            sensor_of(build_alert_defs(fivetran_specs, config=config), FAILURE_SENSOR),
            sensor.instance,
            sensor.resources,
            cursor=sensor.cursor,
        )
        assert sync_status(fivetran, NORTH) == "FAILURE"
        assert sync_status(fivetran, NORTH) == "FAILURE"
        restarted.tick()
        texts = slack_texts(slack_standin)
        assert len(texts) == 2
        assert texts[1].startswith(":rotating_light: *CRITICAL*")
        assert "failed 3 syncs in a row" in texts[1]
        assert pager_events(pagerduty_standin) == [("trigger", page_key)]
        restarted.tick()
        assert pager_events(pagerduty_standin) == [("trigger", page_key)]

        assert sync_status(fivetran, NORTH) == "SUCCESSFUL"
        restarted.tick()
        assert pager_events(pagerduty_standin) == [("trigger", page_key), ("resolve", page_key)]
    finally:
        disarm(fivetran, NORTH)


# --- Fivetran: sync delay --------------------------------------------------------------------


def test_sync_delay_is_measured_against_each_connectors_schedule(
    fivetran: Stack,
    workspace: ConfigurableFivetranWorkspace,
    fivetran_specs: list[dg.AssetSpec],
    config: AlertingConfig,
    instance: dg.DagsterInstance,
    notifiers: dict[str, Any],
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    clock = Clock()
    defs = build_alert_defs(fivetran_specs, config=config, clock=clock)
    sensor = Ticker(
        sensor_of(defs, "alerts__fivetran_sync_delay_sensor"),
        instance,
        {**notifiers, "fivetran": workspace},
    )
    page_key = f"fieldforce/fivetran_sync_delay/{NORTH_WHERE}"
    # The Fivetran API, not code, says how often each connector syncs: bu_south goes hourly.
    patch_connector(fivetran, SOUTH, sync_frequency=60)
    try:
        sensor.tick()
        assert slack_texts(slack_standin) == []

        # 50 minutes without a sync: bu_north (every 15 min) is 35+ min late; bu_south
        # (hourly), servicetitan (every 30 min) and the others are not.
        clock.offset = timedelta(minutes=50)
        sensor.tick()
        [warning] = slack_texts(slack_standin)
        assert warning.startswith(":warning: *WARNING*: Fivetran connector postgres_jobs_bu_north")
        assert "behind its 15-min schedule" in warning
        assert pager_events(pagerduty_standin) == []

        clock.offset = timedelta(minutes=55)
        sensor.tick()
        assert len(slack_texts(slack_standin)) == 1

        # 80 minutes: bu_north is over an hour late (page); servicetitan 50 min (Slack).
        clock.offset = timedelta(minutes=80)
        sensor.tick()
        texts = slack_texts(slack_standin)[1:]
        assert len(texts) == 2
        critical = next(text for text in texts if "bu_north" in text)
        assert critical.startswith(":rotating_light: *CRITICAL*")
        late = next(text for text in texts if "servicetitan_ops" in text)
        assert late.startswith(":warning: *WARNING*") and "30-min schedule" in late
        assert all("bu_south" not in text for text in slack_texts(slack_standin))
        assert pager_events(pagerduty_standin) == [("trigger", page_key)]

        sensor.tick()
        assert len(slack_texts(slack_standin)) == 3
        assert pager_events(pagerduty_standin) == [("trigger", page_key)]

        # The connectors catch up; a few minutes after their syncs everything is on schedule.
        assert sync_status(fivetran, NORTH) == "SUCCESSFUL"
        assert sync_status(fivetran, SERVICETITAN) == "SUCCESSFUL"
        clock.offset = timedelta(minutes=5)
        sensor.tick()
        assert pager_events(pagerduty_standin) == [("trigger", page_key), ("resolve", page_key)]
        resolved = [text for text in slack_texts(slack_standin) if "*RESOLVED*" in text]
        assert len(resolved) == 2
        assert {"bu_north" in text for text in resolved} == {True, False}
    finally:
        patch_connector(fivetran, SOUTH, sync_frequency=15)


def test_raw_freshness_checks_follow_the_schedule_and_record_changes_only(
    fivetran: Stack,
    workspace: ConfigurableFivetranWorkspace,
    fivetran_specs: list[dg.AssetSpec],
    config: AlertingConfig,
    instance: dg.DagsterInstance,
) -> None:
    clock = Clock()
    defs = build_alert_defs(fivetran_specs, config=config, clock=clock)
    checks = Ticker(
        sensor_of(defs, "fivetran__raw_checks_sensor"), instance, {"fivetran": workspace}
    )
    jobs = dg.AssetCheckKey(
        dg.AssetKey(["fivetran", "fivetran_postgres_bu_north", "jobs"]), RAW_FRESHNESS_CHECK
    )
    invoices = dg.AssetCheckKey(
        dg.AssetKey(["fivetran", "fivetran_quickbooks", "invoice"]), RAW_FRESHNESS_CHECK
    )

    def latest(key: dg.AssetCheckKey) -> dg.AssetCheckEvaluation:
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
        evaluation = record.event.dagster_event.event_specific_data
        assert isinstance(evaluation, dg.AssetCheckEvaluation)
        return evaluation

    first = checks.tick()
    landed = {spec.key for spec in fivetran_specs}
    assert {event.asset_key for event in first} == landed
    assert latest(jobs).passed and latest(invoices).passed
    assert checks.tick() == []  # unchanged outcomes are not recorded again

    clock.offset = timedelta(minutes=50)  # 15-min Jobs DB: 35 min late; 6-hourly QuickBooks: fine
    changed = checks.tick()
    assert jobs.asset_key in {event.asset_key for event in changed}
    assert invoices.asset_key not in {event.asset_key for event in changed}
    assert not latest(jobs).passed and latest(jobs).severity == dg.AssetCheckSeverity.WARN

    clock.offset = timedelta(minutes=80)
    checks.tick()
    assert latest(jobs).severity == dg.AssetCheckSeverity.ERROR and not latest(jobs).passed
    assert latest(invoices).passed


# --- Fivetran: row-count anomaly -------------------------------------------------------------


def test_a_sync_far_outside_its_history_is_flagged_and_alerted_once(
    fivetran: Stack,
    workspace: ConfigurableFivetranWorkspace,
    fivetran_specs: list[dg.AssetSpec],
    config: AlertingConfig,
    instance: dg.DagsterInstance,
    notifiers: dict[str, Any],
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    defs = build_alert_defs(fivetran_specs, config=config)
    checks = Ticker(
        sensor_of(defs, "fivetran__raw_checks_sensor"), instance, {"fivetran": workspace}
    )
    alerts = Ticker(sensor_of(defs, "alerts__raw_row_count_anomaly_sensor"), instance, notifiers)
    tables = tables_by_connector(fivetran_specs)[NORTH]
    client = workspace.get_client()
    state: dict[str, Any] = {}
    jobs_table = catalog.JOBS_DB.table("jobs")
    jobs = dg.AssetKey(["fivetran", "fivetran_postgres_bu_north", "jobs"])

    def observe() -> None:
        """The polling observer's path: the synced tables' changes become materializations."""
        details = client.get_connector_details(NORTH)
        with duckdb.connect(str(fivetran.warehouse), read_only=True) as connection:
            for event in observe_connector(connection, NORTH, details, tables, state):
                instance.report_runless_asset_event(event)

    def land(rows: int) -> None:
        base = catalog.ID_OFFSET * 5 + next(_ids) * 10_000
        dsn = fivetran.jobs_dsns["bu_north"]
        minisource.fill_table(dsn, catalog.JOBS_DB, jobs_table, rows, base=base)
        # New rows carry a current cursor value, as an insert at the source would.
        fivetran.pg(
            dsn,
            "update public.jobs set updated_at = now() where job_id > %s and job_id <= %s",
            (base, base + rows),
        )
        assert sync_status(fivetran, NORTH) == "SUCCESSFUL"
        observe()

    def anomaly(key: dg.AssetKey) -> dg.AssetCheckEvaluation:
        check = dg.AssetCheckKey(key, RAW_ANOMALY_CHECK)
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key([check])[check]
        evaluation = record.event.dagster_event.event_specific_data
        assert isinstance(evaluation, dg.AssetCheckEvaluation)
        return evaluation

    observe()  # the initial sync: every table lands its first rows
    for rows in (20, 22, 18, 21, 19):
        land(rows)
    checks.tick()
    alerts.tick()
    scored = anomaly(jobs)
    assert scored.passed and scored.metadata["history_length"].value == 5
    # A table with a single sync has no history yet: not an anomaly.
    customers = dg.AssetKey(["fivetran", "fivetran_postgres_bu_north", "customers"])
    assert anomaly(customers).passed and "Not enough history" in (
        anomaly(customers).description or ""
    )
    assert slack_texts(slack_standin) == []

    land(2_000)  # a bulk load at the source: one sync lands 100 times the usual rows
    checks.tick()
    flagged = anomaly(jobs)
    assert not flagged.passed and flagged.severity == dg.AssetCheckSeverity.WARN
    assert flagged.metadata["rows_landed"].value == 2_000
    assert flagged.metadata["trailing_median"].value == 20.5  # the initial load does not skew it
    alerts.tick()
    [warning] = slack_texts(slack_standin)
    assert warning.startswith(":warning: *WARNING*: A sync landed 2000 rows into fivetran/")
    assert f"{UI}/assets/fivetran/fivetran_postgres_bu_north/jobs?view=checks" in warning
    alerts.tick()
    checks.tick()  # no new sync: nothing re-scored, nothing re-sent
    alerts.tick()
    assert len(slack_texts(slack_standin)) == 1
    assert pager_events(pagerduty_standin) == []  # an anomaly never pages

    land(20)
    checks.tick()
    assert anomaly(jobs).passed
    alerts.tick()
    texts = slack_texts(slack_standin)
    assert len(texts) == 2 and texts[1].startswith(":white_check_mark: *RESOLVED*")
