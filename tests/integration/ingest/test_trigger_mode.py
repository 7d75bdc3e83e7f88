"""Trigger mode: Dagster runs the syncs, on the connectors' cadences, through the real client."""

import time
from collections.abc import Iterator

import dagster as dg
import httpx
import pytest
from dagster_duckdb import DuckDBResource
from dagster_fivetran import load_fivetran_asset_specs
from standins.sources import catalog
from testkit.stack import API_KEY, API_SECRET, Stack

from analytics_platform.ingest.fivetran import ConfigurableFivetranWorkspace
from analytics_platform.ingest.translator import FieldForceFivetranTranslator
from analytics_platform.ingest.trigger import (
    build_trigger_defs,
    cadence_cron,
    connector_sync_assets,
)

CONNECTOR = "postgres_jobs_bu_north"
SCHEMA = "fivetran_postgres_bu_north"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("minutes", "cron"),
    [(15, "*/15 * * * *"), (30, "*/30 * * * *"), (60, "0 * * * *"), (360, "0 */6 * * *")],
)
def test_cadences_become_crons(minutes: int, cron: str) -> None:
    assert cadence_cron(minutes) == cron


@pytest.mark.unit
def test_daily_cadence_uses_the_daily_sync_time_and_odd_ones_fail() -> None:
    assert cadence_cron(1440, "06:30") == "30 6 * * *"
    with pytest.raises(ValueError, match="does not divide"):
        cadence_cron(45)


@pytest.fixture
def workspace(stack: Stack) -> ConfigurableFivetranWorkspace:
    return ConfigurableFivetranWorkspace(
        account_id="test",
        api_key=API_KEY,
        api_secret=API_SECRET,
        api_base_url=stack.api_url,
        poll_interval=0.5,
        disable_schedule_on_trigger=True,
        retry_on_reschedule=False,
    )


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def _specs(workspace: ConfigurableFivetranWorkspace) -> list[dg.AssetSpec]:
    return list(
        load_fivetran_asset_specs(
            workspace, dagster_fivetran_translator=FieldForceFivetranTranslator()
        )
    )


def _sync_asset(
    workspace: ConfigurableFivetranWorkspace, retry: dg.RetryPolicy | None = None
) -> dg.AssetsDefinition:
    specs = [s for s in _specs(workspace) if s.key.path[1] == SCHEMA]
    platform = [("fivetran_metadata", t) for t in ("connection", "log", "incremental_mar")]
    kwargs = {"retry_policy": retry} if retry else {}
    return connector_sync_assets(CONNECTOR, specs, "duckdb", also_measured=platform, **kwargs)


def _run(
    asset: dg.AssetsDefinition,
    stack: Stack,
    workspace: ConfigurableFivetranWorkspace,
    instance: dg.DagsterInstance,
) -> tuple[dg.ExecuteInProcessResult, set[str]]:
    result = dg.materialize(
        [asset],
        resources={
            "fivetran": workspace,
            "warehouse": DuckDBResource(database=str(stack.warehouse)),
        },
        instance=instance,
    )
    keys = {
        event.asset_key.to_user_string()
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION and event.asset_key
    }
    return result, keys


def test_schedules_follow_each_connectors_cadence(workspace: ConfigurableFivetranWorkspace) -> None:
    specs = _specs(workspace)
    client = workspace.get_client()
    connectors = {s.metadata["dagster-fivetran/connector_id"] for s in specs}
    details = {cid: client.get_connector_details(cid) for cid in connectors}
    defs = build_trigger_defs(specs, details, "duckdb")
    crons = {s.name: s.cron_schedule for s in defs.schedules or []}
    assert crons["sync_postgres_jobs_bu_north_schedule"] == "*/15 * * * *"
    assert crons["sync_quickbooks_finance_schedule"] == cadence_cron(
        details["quickbooks_finance"]["sync_frequency"]
    )
    assert len(crons) == len(connectors)
    assert all(s.default_status == dg.DefaultScheduleStatus.RUNNING for s in defs.schedules or [])


def test_a_triggered_sync_switches_to_manual_and_reports_only_changed_tables(
    stack: Stack, workspace: ConfigurableFivetranWorkspace, instance: dg.DagsterInstance
) -> None:
    asset = _sync_asset(workspace)
    result, first = _run(asset, stack, workspace, instance)
    assert result.success
    # Nothing was reported before: every landed table of the connector is new to Dagster.
    assert f"fivetran/{SCHEMA}/jobs" in first and f"fivetran/{SCHEMA}/customers" in first
    assert "fivetran/fivetran_metadata/log" in first
    with stack.client() as client:
        connector = client.get(f"/v1/connectors/{CONNECTOR}").json()["data"]
    assert connector["schedule_type"] == "manual"

    stack.pg(
        stack.jobs_dsns["bu_north"],
        "update public.jobs set priority = 'high', updated_at = now() where job_id = %s",
        (catalog.ID_OFFSET + 1,),
    )
    result, second = _run(asset, stack, workspace, instance)
    assert result.success
    assert {key for key in second if "fivetran_metadata" not in key} == {f"fivetran/{SCHEMA}/jobs"}
    jobs = instance.get_latest_materialization_event(dg.AssetKey(["fivetran", SCHEMA, "jobs"]))
    assert jobs is not None and jobs.asset_materialization is not None
    assert jobs.asset_materialization.metadata["fivetran/rows_written"].value == 1


def test_a_rescheduled_sync_is_waited_for_and_a_failed_one_retried(
    stack: Stack, workspace: ConfigurableFivetranWorkspace, instance: dg.DagsterInstance
) -> None:
    with stack.client() as client:
        client.post(f"/admin/faults/{CONNECTOR}", json={"type": "reschedule", "seconds": 4})
    started = time.monotonic()
    result, _ = _run(_sync_asset(workspace), stack, workspace, instance)
    assert result.success
    assert time.monotonic() - started >= 4

    with stack.client() as client:
        client.post(
            f"/admin/faults/{CONNECTOR}",
            json={"type": "fail", "count": 1, "message": "connection reset by peer"},
        )
    retry = dg.RetryPolicy(max_retries=2, delay=0.5, backoff=dg.Backoff.EXPONENTIAL)
    result, _ = _run(_sync_asset(workspace, retry), stack, workspace, instance)
    assert result.success
    retried = [
        e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY
    ]
    assert len(retried) == 1
    with httpx.Client(base_url=stack.base_url, auth=(API_KEY, API_SECRET)) as client:
        history = client.get("/admin/syncs", params={"connector_id": CONNECTOR}).json()["items"]
    assert [entry["status"] for entry in history[-2:]] == ["FAILURE", "SUCCESSFUL"]


def test_a_sync_that_keeps_failing_fails_the_run_after_its_retries(
    stack: Stack, workspace: ConfigurableFivetranWorkspace, instance: dg.DagsterInstance
) -> None:
    with stack.client() as client:
        client.post(
            f"/admin/faults/{CONNECTOR}", json={"type": "fail", "count": 5, "message": "boom"}
        )
    retry = dg.RetryPolicy(max_retries=1, delay=0.2)
    result = dg.materialize(
        [_sync_asset(workspace, retry)],
        resources={
            "fivetran": workspace,
            "warehouse": DuckDBResource(database=str(stack.warehouse)),
        },
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert CONNECTOR in str(failure.event_specific_data)
