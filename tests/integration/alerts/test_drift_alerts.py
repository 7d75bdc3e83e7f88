"""Schema drift, one scenario of the design's drift table per test, from Fivetran's log to Slack.

The sensor is the production one (``build_alert_defs``), evaluated tick by tick against a real
Dagster instance with the real Slack and PagerDuty stand-ins receiving. The drift is real: the
local Fivetran's drift fault changes a PostgreSQL source table the way a source team would,
a sync meets the change and writes it to ``fivetran_metadata.log``, and the sensor reads that
log from the warehouse. The lineage is the code location's: the Fivetran tables and the dbt
project's models, tenants joined as ``definitions`` joins them.
"""

from typing import Any

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource
from dagster_fivetran import load_fivetran_asset_specs
from testkit.stack import API_KEY, API_SECRET, Stack, pg_cluster

from analytics_platform.alerts import build_alert_defs
from analytics_platform.alerts.drift import SENSOR_NAME, Lineage, paging_models
from analytics_platform.ingest import tenants
from analytics_platform.ingest.fivetran import ConfigurableFivetranWorkspace
from analytics_platform.ingest.translator import FieldForceFivetranTranslator
from analytics_platform.notify import AlertingConfig
from analytics_platform.transform import assets as transform_assets
from tests.integration.alerts.conftest import StandIn
from tests.integration.alerts.sensing import (
    UI,
    Ticker,
    incidents,
    pager_events,
    sensor_of,
    slack_texts,
)

__all__ = ["pg_cluster"]

NORTH = "postgres_jobs_bu_north"
SCHEMA = "fivetran_postgres_bu_north"
JOBS_MODELS = ("stg_jobs__jobs", "stg_jobs__job_deletions")


@pytest.fixture(scope="module")
def specs(fivetran: Stack) -> list[dg.AssetSpec]:
    """The code location's lineage: Fivetran tables, then the dbt models reading them."""
    workspace = ConfigurableFivetranWorkspace(
        account_id="fieldforce",
        api_key=API_KEY,
        api_secret=API_SECRET,
        api_base_url=fivetran.api_url,
        request_retry_delay=0.05,
    )
    landed = list(
        load_fivetran_asset_specs(
            workspace, dagster_fivetran_translator=FieldForceFivetranTranslator()
        )
    )
    models = transform_assets.defs.resolve_all_asset_specs()
    add_tenants = tenants.with_all_tenants([spec.key for spec in landed])
    return landed + [add_tenants(spec) for spec in models]


@pytest.fixture
def sensor(
    fivetran: Stack,
    specs: list[dg.AssetSpec],
    config: AlertingConfig,
    instance: dg.DagsterInstance,
    notifiers: dict[str, Any],
) -> Ticker:
    """The drift sensor, its first tick taken: the initial syncs are history, not drift."""
    ticker = Ticker(
        sensor_of(build_alert_defs(specs, config=config), SENSOR_NAME),
        instance,
        {**notifiers, "warehouse": DuckDBResource(database=str(fivetran.warehouse))},
    )
    ticker.tick()
    return ticker


def drift(stack: Stack, **spec: Any) -> None:
    with stack.client() as client:
        client.post(f"/admin/drift/{NORTH}", json=spec).raise_for_status()


def synced(stack: Stack) -> None:
    [entry] = stack.sync(NORTH)
    assert entry["status"] == "SUCCESSFUL", entry["message"]


def restarted(sensor: Ticker, specs: list[dg.AssetSpec], config: AlertingConfig) -> Ticker:
    """The same sensor after a daemon restart: a new code location, the stored cursor."""
    return Ticker(
        sensor_of(build_alert_defs(specs, config=config), SENSOR_NAME),
        sensor.instance,
        sensor.resources,
        cursor=sensor.cursor,
    )


def test_the_sensor_is_a_row_of_the_alert_matrix(
    specs: list[dg.AssetSpec], config: AlertingConfig
) -> None:
    found = sensor_of(build_alert_defs(specs, config=config), SENSOR_NAME)
    assert {"warehouse", "slack", "pagerduty"} <= found.required_resource_keys


def test_initial_syncs_are_not_drift(
    sensor: Ticker, slack_standin: StandIn, pagerduty_standin: StandIn
) -> None:
    sensor.tick()
    assert slack_texts(slack_standin) == []
    assert pager_events(pagerduty_standin) == []


def test_a_new_column_is_info_in_slack_once(
    fivetran: Stack,
    sensor: Ticker,
    specs: list[dg.AssetSpec],
    config: AlertingConfig,
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    drift(fivetran, action="add_column", table="jobs", column="customer_rating", type="integer")
    synced(fivetran)
    sensor.tick()
    [notice] = slack_texts(slack_standin)
    assert notice.startswith(":warning: *WARNING*: Schema drift (info): new column")
    assert f"{SCHEMA}.jobs.customer_rating" in notice
    assert NORTH in notice
    assert all(model in notice for model in JOBS_MODELS)
    assert f"`fivetran/{SCHEMA}/jobs/customer_rating`" in notice
    assert f"{UI}/assets/fivetran/{SCHEMA}/jobs" in notice
    assert pager_events(pagerduty_standin) == []

    sensor.tick()
    synced(fivetran)  # a later sync reports nothing new
    restarted(sensor, specs, config).tick()
    assert len(slack_texts(slack_standin)) == 1


def test_a_new_table_is_a_warning_naming_no_model_yet(
    fivetran: Stack, sensor: Ticker, slack_standin: StandIn, pagerduty_standin: StandIn
) -> None:
    drift(
        fivetran,
        action="add_table",
        table="equipment",
        columns="equipment_id bigint primary key, name text, updated_at timestamptz default now()",
    )
    synced(fivetran)
    sensor.tick()
    [notice] = slack_texts(slack_standin)
    assert notice.startswith(":warning: *WARNING*: Schema drift (warning): new table")
    assert f"{SCHEMA}.equipment" in notice and NORTH in notice
    assert "no dbt model reads it yet" in notice
    assert pager_events(pagerduty_standin) == []


def test_a_removed_column_is_an_error_that_pages(
    fivetran: Stack,
    sensor: Ticker,
    specs: list[dg.AssetSpec],
    config: AlertingConfig,
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    drift(fivetran, action="drop_column", table="jobs", column="notes")
    synced(fivetran)
    sensor.tick()
    page_key = f"fieldforce/schema_drift/fivetran/{SCHEMA}/jobs/notes"
    [alert] = slack_texts(slack_standin)
    assert alert.startswith(":rotating_light: *CRITICAL*: Schema drift (error): column removed")
    assert f"{SCHEMA}.jobs.notes" in alert and NORTH in alert
    assert all(model in alert for model in JOBS_MODELS)
    assert pager_events(pagerduty_standin) == [("trigger", page_key)]
    [incident] = pagerduty_standin.recorded()["incidents"]
    assert incident["severity"] == "critical"
    assert incident["custom_details"]["drift_severity"] == "error"
    assert "fct_jobs" in incident["custom_details"]["dbt_models"]

    synced(fivetran)  # the column stays gone: the same change, no new event
    after = restarted(sensor, specs, config)
    after.tick()
    assert len(slack_texts(slack_standin)) == 1
    assert pager_events(pagerduty_standin) == [("trigger", page_key)]
    assert incidents(pagerduty_standin) == {page_key: "triggered"}

    # The page ends as a mart failure's does: once every mart it reaches has built again.
    lineage = Lineage.of(specs)
    marts = paging_models(
        lineage.downstream(dg.AssetKey(["fivetran", SCHEMA, "jobs"])), lineage, config
    )
    assert len(marts) > 1
    for mart in marts[:-1]:
        after.instance.report_runless_asset_event(dg.AssetMaterialization(mart))
    after.tick()
    assert incidents(pagerduty_standin) == {page_key: "triggered"}
    after.instance.report_runless_asset_event(dg.AssetMaterialization(marts[-1]))
    after.tick()
    assert pager_events(pagerduty_standin) == [("trigger", page_key), ("resolve", page_key)]
    assert slack_texts(slack_standin)[-1].startswith(":white_check_mark: *RESOLVED*")


def test_a_column_type_change_is_an_error_that_pages(
    fivetran: Stack, sensor: Ticker, slack_standin: StandIn, pagerduty_standin: StandIn
) -> None:
    drift(fivetran, action="change_type", table="jobs", column="region_id", type="bigint")
    synced(fivetran)
    sensor.tick()
    [alert] = slack_texts(slack_standin)
    assert alert.startswith(
        ":rotating_light: *CRITICAL*: Schema drift (error): column type changed"
    )
    assert f"{SCHEMA}.jobs.region_id" in alert and "BIGINT" in alert
    assert all(model in alert for model in JOBS_MODELS)
    key = f"fieldforce/schema_drift/fivetran/{SCHEMA}/jobs/region_id"
    assert pager_events(pagerduty_standin) == [("trigger", key)]


def test_a_removed_table_is_an_error_that_pages_once(
    fivetran: Stack,
    sensor: Ticker,
    specs: list[dg.AssetSpec],
    config: AlertingConfig,
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    drift(fivetran, action="drop_table", table="job_line_items")
    synced(fivetran)
    sensor.tick()
    key = f"fieldforce/schema_drift/fivetran/{SCHEMA}/job_line_items"
    [alert] = slack_texts(slack_standin)
    assert alert.startswith(":rotating_light: *CRITICAL*: Schema drift (error): table removed")
    assert f"{SCHEMA}.job_line_items" in alert and NORTH in alert
    assert "stg_jobs__job_line_items" in alert
    assert pager_events(pagerduty_standin) == [("trigger", key)]

    # Every later sync notes the table is still gone: the same removal, not a new alert.
    synced(fivetran)
    sensor.tick()
    synced(fivetran)
    restarted(sensor, specs, config).tick()
    assert len(slack_texts(slack_standin)) == 1
    assert pager_events(pagerduty_standin) == [("trigger", key)]
