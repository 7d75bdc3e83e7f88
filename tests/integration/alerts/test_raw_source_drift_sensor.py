"""The raw-vs-source drift row: fires when a raw table falls behind while syncs succeed.

The sensor is the production one, evaluated tick by tick against a real Dagster instance, the
real local Fivetran (its syncs keep reporting SUCCESSFUL) over PostgreSQL Jobs DBs, and the
Slack and PagerDuty stand-ins. The fault is real: rows vanish from a raw table behind the
connector's back, which no cursor will ever re-read.
"""

from typing import Any

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from standins.fivetran import minisource
from standins.sources import catalog
from testkit.stack import Stack, pg_cluster

from analytics_platform.alerts import build_alert_defs
from analytics_platform.alerts.reconciliation import SENSOR_NAME, build_drift_sensor
from analytics_platform.ingest.fivetran import ConfigurableFivetranWorkspace
from analytics_platform.notify import AlertingConfig
from tests.integration.alerts.conftest import StandIn
from tests.integration.alerts.sensing import Ticker, pager_events, sensor_of, slack_texts

__all__ = ["pg_cluster"]

NORTH = "postgres_jobs_bu_north"
SOUTH = "postgres_jobs_bu_south"
JOBS_WHERE = "fivetran/fivetran_postgres_bu_north/jobs"
FIRST_JOB = catalog.ID_OFFSET + 1


def synced(stack: Stack, *connector_ids: str) -> None:
    for entry in stack.sync(*connector_ids):
        assert entry["status"] == "SUCCESSFUL", entry


def test_the_sensor_is_a_row_of_the_alert_matrix(
    fivetran_specs: list[dg.AssetSpec], config: AlertingConfig
) -> None:
    defs = build_alert_defs(fivetran_specs, config=config)
    sensor = sensor_of(defs, SENSOR_NAME)
    assert {"fivetran", "warehouse", "slack", "pagerduty"} <= sensor.required_resource_keys


def test_drift_alerts_once_it_outlives_the_syncs_and_resolves(
    fivetran: Stack,
    workspace: ConfigurableFivetranWorkspace,
    fivetran_specs: list[dg.AssetSpec],
    config: AlertingConfig,
    instance: dg.DagsterInstance,
    notifiers: dict[str, Any],
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    sensor = Ticker(
        build_drift_sensor(fivetran_specs, config, dsns=lambda: fivetran.jobs_dsns),
        instance,
        {
            **notifiers,
            "fivetran": workspace,
            "warehouse": DuckDBResource(database=str(fivetran.warehouse)),
        },
    )
    north = fivetran.jobs_dsns["bu_north"]

    # Both ends agree after the historical syncs: nothing to say.
    sensor.tick()
    assert slack_texts(slack_standin) == []

    # A busy source is not drift: new rows wait for the next sync, which lands them.
    jobs = catalog.JOBS_DB.table("jobs")
    minisource.fill_table(north, catalog.JOBS_DB, jobs, 5, base=catalog.ID_OFFSET + 30_000)
    sensor.tick()
    synced(fivetran, NORTH)
    minisource.fill_table(north, catalog.JOBS_DB, jobs, 5, base=catalog.ID_OFFSET + 40_000)
    sensor.tick()
    synced(fivetran, NORTH)
    sensor.tick()
    assert slack_texts(slack_standin) == []

    # Rows vanish from the raw table; no cursor will read them again, syncs stay SUCCESSFUL.
    with duckdb.connect(str(fivetran.warehouse)) as warehouse:
        warehouse.execute(
            "delete from fivetran_postgres_bu_north.jobs where job_id between ? and ?",
            [FIRST_JOB, FIRST_JOB + 2],
        )
    sensor.tick()  # opens a window
    synced(fivetran, NORTH, SOUTH)
    sensor.tick()  # one window behind: a sync's timing could explain it
    assert slack_texts(slack_standin) == []
    synced(fivetran, NORTH, SOUTH)
    sensor.tick()  # two windows: the warehouse stays behind
    [warning] = slack_texts(slack_standin)
    assert warning.startswith(":warning: *WARNING*: Raw table fivetran/fivetran_postgres_bu_north/")
    assert "3 row(s) the source has are missing" in warning
    assert f"`{JOBS_WHERE}`" in warning
    assert NORTH in warning
    assert "bu_south" not in warning
    assert pager_events(pagerduty_standin) == []
    synced(fivetran, NORTH)
    sensor.tick()  # the same incident: nothing re-sent
    assert len(slack_texts(slack_standin)) == 1

    # The rows change at the source: the connector reads them again, and the ends agree.
    fivetran.pg(
        north,
        "update public.jobs set notes = 'touched', updated_at = now()"
        " where job_id between %s and %s",
        (FIRST_JOB, FIRST_JOB + 2),
    )
    synced(fivetran, NORTH)
    sensor.tick()
    texts = slack_texts(slack_standin)
    assert len(texts) == 2 and texts[1].startswith(":white_check_mark: *RESOLVED*")
    assert f"`{JOBS_WHERE}`" in texts[1]
    assert pager_events(pagerduty_standin) == []
