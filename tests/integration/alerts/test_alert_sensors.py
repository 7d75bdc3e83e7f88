"""Every row of the alert matrix fired by a real fault, with its severity, channel, dedup, resolve.

The sensors are the production ones (``build_alert_defs``), evaluated tick by tick against a
real Dagster instance, with the real Slack and PagerDuty stand-ins receiving. Faults are real:
the local Fivetran's fault injection fails syncs, a bulk load at the source makes a sync land
far more rows than usual, bad data and schema drift break a small dbt project built through
dagster-dbt, and its own tests fail. Time-based rows (sync delay, freshness) run on the
sensors' injected clock, moved forward the way time would pass; the schedules, sync times and
build times they measure come from the service and the instance.
"""

import itertools
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets
from dagster_fivetran import load_fivetran_asset_specs
from standins.fivetran import minisource
from standins.sources import catalog
from testkit.stack import API_KEY, API_SECRET, Stack, StackFactory, pg_cluster

from analytics_platform.alerts import build_alert_defs
from analytics_platform.freshness import with_layer_policy
from analytics_platform.ingest.checks import RAW_ANOMALY_CHECK, RAW_FRESHNESS_CHECK
from analytics_platform.ingest.fivetran import ConfigurableFivetranWorkspace
from analytics_platform.ingest.observe import observe_connector, tables_by_connector
from analytics_platform.ingest.translator import FieldForceFivetranTranslator
from analytics_platform.notify import (
    AlertingConfig,
    PagerDutyNotifier,
    SlackNotifier,
    load_alerting_config,
)
from analytics_platform.transform.translator import FieldForceDbtTranslator
from tests.integration.alerts.conftest import StandIn

pytestmark = pytest.mark.integration

__all__ = ["pg_cluster"]

UI = "http://dagster.test:3000"
NORTH = "postgres_jobs_bu_north"
SOUTH = "postgres_jobs_bu_south"
SERVICETITAN = "servicetitan_ops"
NORTH_WHERE = "fivetran/fivetran_postgres_bu_north"
DBT = str(Path(sys.executable).parent / "dbt")
_ids = itertools.count(1)


# --- the world -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fivetran(pg_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    factory = StackFactory(pg_cluster, tmp_path_factory.mktemp("alerts"))
    try:
        yield factory(rows=50)
    finally:
        factory.close()


@pytest.fixture(scope="module")
def workspace(fivetran: Stack) -> ConfigurableFivetranWorkspace:
    return ConfigurableFivetranWorkspace(
        account_id="fieldforce",
        api_key=API_KEY,
        api_secret=API_SECRET,
        api_base_url=fivetran.api_url,
        request_retry_delay=0.05,
    )


@pytest.fixture(scope="module")
def fivetran_specs(workspace: ConfigurableFivetranWorkspace) -> list[dg.AssetSpec]:
    return list(
        load_fivetran_asset_specs(
            workspace, dagster_fivetran_translator=FieldForceFivetranTranslator()
        )
    )


@pytest.fixture
def config() -> AlertingConfig:
    return load_alerting_config(dagster_ui_url=UI)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def notifiers(slack_standin: StandIn, pagerduty_standin: StandIn) -> dict[str, Any]:
    return {
        "slack": SlackNotifier(token=slack_standin.secret, base_url=f"{slack_standin.root}/api/"),
        "pagerduty": PagerDutyNotifier(
            routing_key=pagerduty_standin.secret,
            events_url=f"{pagerduty_standin.root}/v2/enqueue",
            backoff_seconds=0.01,
        ),
    }


@dataclass
class Clock:
    """The sensors' clock: the wall clock, moved by ``offset``."""

    offset: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def at(self, moment: datetime) -> None:
        """Make "now" be ``moment`` (advancing with the wall clock from here)."""
        self.offset = moment - datetime.now(UTC)


@dataclass
class Ticker:
    """Evaluates one sensor as the daemon does: cursor in, asset events recorded, cursor out."""

    sensor: dg.SensorDefinition
    instance: dg.DagsterInstance
    resources: Mapping[str, Any]
    definitions: dg.Definitions | None = None
    cursor: str | None = None
    messages: list[str | None] = field(default_factory=list)

    def tick(self) -> list[Any]:
        """One evaluation; returns the asset events it recorded."""
        with dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources=dict(self.resources),
            definitions=self.definitions,
        ) as context:
            data = self.sensor.evaluate_tick(context)
        for event in data.asset_events:
            self.instance.report_runless_asset_event(event)
        self.cursor = data.cursor
        self.messages.append(data.skip_message)
        return list(data.asset_events)


def sensor_of(defs: dg.Definitions, name: str) -> dg.SensorDefinition:
    return next(sensor for sensor in defs.sensors or [] if sensor.name == name)


def slack_texts(slack: StandIn) -> list[str]:
    messages = slack.recorded()["messages"]
    assert all(message["channel_name"] == "data-alerts" for message in messages), messages
    return [message["message"]["text"] for message in messages]


def pager_events(pagerduty: StandIn) -> list[tuple[str, str]]:
    return [
        (record["event"]["event_action"], record["event"]["dedup_key"])
        for record in pagerduty.recorded()["events"]
    ]


def incidents(pagerduty: StandIn) -> dict[str, str]:
    return {
        incident["dedup_key"]: incident["status"] for incident in pagerduty.recorded()["incidents"]
    }


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
    fivetran_specs: list[dg.AssetSpec],
    config: AlertingConfig,
    instance: dg.DagsterInstance,
    notifiers: dict[str, Any],
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    defs = build_alert_defs(fivetran_specs, config=config)
    sensor = Ticker(
        sensor_of(defs, "alerts__fivetran_sync_failure_sensor"),
        instance,
        {**notifiers, "fivetran": workspace},
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


# --- dbt: model failures and test failures ---------------------------------------------------

PROJECT = {
    "dbt_project.yml": """
        name: alerts_probe
        version: "1.0.0"
        config-version: 2
        profile: alerts_probe
        flags:
          send_anonymous_usage_stats: false
        models:
          alerts_probe:
            staging:
              +materialized: view
            marts:
              +materialized: table
    """,
    "models/staging/stg_orders.sql": """
        select order_id, customer, amount from raw.orders
    """,
    "models/staging/_models.yml": """
        version: 2
        models:
          - name: stg_orders
            columns:
              - name: customer
                data_tests:
                  - not_null:
                      config:
                        severity: warn
    """,
    "models/marts/core/fct_orders.sql": """
        select order_id, customer, cast(amount as integer) as amount
        from {{ ref('stg_orders') }}
    """,
    "models/marts/core/_models.yml": """
        version: 2
        models:
          - name: fct_orders
            columns:
              - name: order_id
                data_tests:
                  - unique
    """,
}


@dataclass
class Probe:
    """A two-model dbt project (staging view → mart table) on its own DuckDB file."""

    directory: Path
    warehouse: Path
    defs: dg.Definitions
    assets: dg.AssetsDefinition

    def sql(self, statement: str) -> None:
        with duckdb.connect(str(self.warehouse)) as connection:
            connection.execute(statement)

    def build(self, instance: dg.DagsterInstance) -> bool:
        """``dbt build`` through dagster-dbt, as a run in ``instance``; whether it succeeded."""
        result = dg.materialize(
            [self.assets], instance=instance, resources=self.resources(), raise_on_error=False
        )
        return result.success

    def resources(self) -> dict[str, Any]:
        return {
            "dbt": DbtCliResource(
                project_dir=str(self.directory),
                profiles_dir=str(self.directory),
                dbt_executable=DBT,
            )
        }


@pytest.fixture
def probe(tmp_path: Path) -> Probe:
    directory = tmp_path / "probe"
    warehouse = tmp_path / "probe.duckdb"
    for name, text in PROJECT.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    (directory / "profiles.yml").write_text(
        "alerts_probe:\n  target: local\n  outputs:\n    local:\n"
        f"      type: duckdb\n      path: {warehouse}\n      threads: 1\n"
    )
    subprocess.run(
        [
            DBT,
            "parse",
            "--quiet",
            "--project-dir",
            str(directory),
            "--profiles-dir",
            str(directory),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    project = DbtProject(project_dir=directory, profiles_dir=directory)

    @dbt_assets(
        manifest=directory / "target" / "manifest.json",
        project=project,
        dagster_dbt_translator=FieldForceDbtTranslator(),
    )
    def probe_models(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        yield from dbt.cli(["build"], context=context).stream()

    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create schema raw")
        connection.execute(
            "create table raw.orders as select * from (values"
            " (1, 'ada', '10'), (2, 'bob', '20'), (3, 'cy', '30'))"
            " as t(order_id, customer, amount)"
        )
    probe = Probe(directory, warehouse, dg.Definitions(), probe_models)
    probe.defs = dg.Definitions(assets=[probe_models], resources=probe.resources())
    return probe


def test_dbt_model_and_test_failures_follow_the_layer_and_the_test_severity(
    probe: Probe,
    config: AlertingConfig,
    instance: dg.DagsterInstance,
    notifiers: dict[str, Any],
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    specs = list(probe.defs.resolve_all_asset_specs())
    groups = {spec.key: spec.group_name for spec in specs}
    stg = dg.AssetKey(["staging", "stg_orders"])
    fct = dg.AssetKey(["marts", "core", "fct_orders"])
    assert groups[stg] == "staging" and groups[fct] == "marts_core"
    defs = dg.Definitions.merge(probe.defs, build_alert_defs(specs, config=config))
    runs = Ticker(sensor_of(defs, "alerts__dbt_model_failure_sensor"), instance, notifiers, defs)
    tests = Ticker(sensor_of(defs, "alerts__dbt_test_failure_sensor"), instance, notifiers, defs)
    mart_page = "fieldforce/dbt_model_failure/marts/core/fct_orders"
    error_test = next(
        key.name
        for key in defs.get_repository_def().asset_graph.asset_check_keys
        if key.asset_key == fct and key.name.startswith("unique")
    )
    test_page = f"fieldforce/dbt_test_failure/marts/core/fct_orders:{error_test}"

    def tick() -> None:
        runs.tick()
        tests.tick()

    tick()  # nothing has run: nothing to say
    assert slack_texts(slack_standin) == [] and pager_events(pagerduty_standin) == []

    # Bad data lands: the mart's cast fails. A mart is production: page.
    probe.sql("insert into raw.orders values (4, 'dee', 'n/a')")
    assert not probe.build(instance)
    tick()
    [mart] = slack_texts(slack_standin)
    assert mart.startswith(
        ":rotating_light: *CRITICAL*: dbt model fct_orders (marts) failed to build"
    )
    assert f"{UI}/runs/" in mart
    assert pager_events(pagerduty_standin) == [("trigger", mart_page)]
    tick()  # no re-post, no re-page
    assert len(slack_texts(slack_standin)) == 1

    # Schema drift instead: staging breaks and the mart is skipped, not broken: one warning
    # for staging, and the mart's page stays open (it still is not built).
    probe.sql("delete from raw.orders where order_id = 4")
    probe.sql("alter table raw.orders drop column customer")
    assert not probe.build(instance)
    tick()
    texts = slack_texts(slack_standin)
    assert len(texts) == 2
    assert texts[1].startswith(
        ":warning: *WARNING*: dbt model stg_orders (staging) failed to build"
    )
    assert "not_built_downstream: 1" in str(slack_standin.recorded()["messages"][1]["message"])
    assert pager_events(pagerduty_standin) == [("trigger", mart_page)]

    # The column comes back, with a row that fails a warn test (null customer) and one that
    # fails an error test (duplicate order id): models build, tests fail.
    probe.sql("alter table raw.orders add column customer varchar")
    probe.sql("update raw.orders set customer = 'x'")
    probe.sql("insert into raw.orders values (5, '50', null), (1, '15', 'eve')")
    assert not probe.build(instance)  # an error-severity test fails the dbt build
    tick()
    texts = slack_texts(slack_standin)[2:]
    resolved = [text for text in texts if "*RESOLVED*" in text]
    assert len(resolved) == 2  # both models build again
    warn = [text for text in texts if text.startswith(":warning: *WARNING*: Test not_null")]
    error = [
        text for text in texts if text.startswith(f":rotating_light: *CRITICAL*: Test {error_test}")
    ]
    assert len(warn) == 1 and len(error) == 1, texts
    assert "?view=checks" in error[0]
    assert pager_events(pagerduty_standin) == [
        ("trigger", mart_page),
        ("resolve", mart_page),
        ("trigger", test_page),
    ]
    # The failed run is the tests' doing: no model alert for it.
    assert not [text for text in texts if "failed to build" in text and "*RESOLVED*" not in text]
    count = len(slack_texts(slack_standin))
    tick()
    assert len(slack_texts(slack_standin)) == count

    probe.sql("delete from raw.orders where order_id in (5) or customer = 'eve'")
    assert probe.build(instance)
    tick()
    assert incidents(pagerduty_standin) == {mart_page: "resolved", test_page: "resolved"}
    assert len([text for text in slack_texts(slack_standin) if "*RESOLVED*" in text]) == 4
    # Healthy: further ticks say nothing.
    count = len(slack_texts(slack_standin))
    tick()
    assert len(slack_texts(slack_standin)) == count and len(pager_events(pagerduty_standin)) == 4


# --- freshness policies ----------------------------------------------------------------------


def test_freshness_policy_windows_warn_then_page_and_a_build_resolves(
    config: AlertingConfig,
    instance: dg.DagsterInstance,
    notifiers: dict[str, Any],
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    @dg.asset(key=["marts", "core", "fct_probe"], group_name="marts_core")
    def fct_probe() -> int:
        return 1

    @dg.asset(key=["marts", "core", "dim_date"], group_name="marts_core")
    def dim_date() -> int:
        return 1

    # The production policies, applied the way definitions.py applies them.
    assets = dg.Definitions(assets=[fct_probe, dim_date]).map_resolved_asset_specs(
        func=with_layer_policy
    )
    specs = list(assets.resolve_all_asset_specs())
    clock = Clock()
    defs = build_alert_defs(specs, config=config, clock=clock)
    sensor = Ticker(sensor_of(defs, "alerts__freshness_sensor"), instance, notifiers)
    page_key = "fieldforce/asset_freshness/marts/core/fct_probe"

    sensor.tick()  # never built: no freshness yet, no alert
    assert slack_texts(slack_standin) == []
    assert dg.materialize([fct_probe, dim_date], instance=instance).success
    built = datetime.now(UTC)
    sensor.tick()
    assert slack_texts(slack_standin) == []

    clock.at(built + timedelta(minutes=40))  # past the 30-min warn window of marts_core
    sensor.tick()
    [warning] = slack_texts(slack_standin)
    assert warning.startswith(
        ":warning: *WARNING*: marts/core/fct_probe is past its freshness warn"
    )
    assert f"{UI}/assets/marts/core/fct_probe" in warning
    assert "dim_date" not in warning  # no policy on a slow-changing mart

    clock.at(built + timedelta(minutes=70))  # past the 60-min fail window
    sensor.tick()
    sensor.tick()
    texts = slack_texts(slack_standin)
    assert len(texts) == 2 and texts[1].startswith(":rotating_light: *CRITICAL*")
    assert pager_events(pagerduty_standin) == [("trigger", page_key)]
    [incident] = pagerduty_standin.recorded()["incidents"]
    # Since when: the moment the warn window ran out, kept through the escalation.
    since = datetime.fromisoformat(incident["custom_details"]["since"])
    assert abs((since - (built + timedelta(minutes=30))).total_seconds()) < 5

    assert dg.materialize([fct_probe], instance=instance).success
    clock.at(datetime.now(UTC) + timedelta(minutes=1))
    sensor.tick()
    assert incidents(pagerduty_standin) == {page_key: "resolved"}
    assert slack_texts(slack_standin)[2].startswith(":white_check_mark: *RESOLVED*")
