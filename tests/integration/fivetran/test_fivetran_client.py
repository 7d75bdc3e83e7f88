"""The real dagster-fivetran client, pointed at the local service by our small subclasses."""

from __future__ import annotations

from typing import Any

import dagster as dg
import duckdb
import pytest
from dagster_fivetran import FivetranWorkspace, build_fivetran_polling_sensor
from standins.sources import catalog
from standins.sources.postgres import free_port
from testkit.stack import API_KEY, API_SECRET, Stack, assert_all_landed

from analytics_platform.ingest.fivetran import ConfigurableFivetranWorkspace

NORTH = catalog.ID_OFFSET
SOUTH = 2 * catalog.ID_OFFSET
JOBS_NORTH = "postgres_jobs_bu_north"
JOBS_SOUTH = "postgres_jobs_bu_south"
ALL_IDS = {
    "postgres_jobs_bu_north",
    "postgres_jobs_bu_south",
    "salesforce_crm",
    "quickbooks_finance",
    "servicetitan_ops",
    "telematics_gps",
    "sheets_targets",
}


def workspace(stack: Stack, **overrides: Any) -> ConfigurableFivetranWorkspace:
    settings: dict[str, Any] = {
        "account_id": "fieldforce",
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "api_base_url": stack.api_url,
        "poll_interval": 0.2,
        "poll_timeout": 60,
        "page_size": 2,
        "request_max_retries": 1,
        "request_retry_delay": 0.05,
    }
    settings.update(overrides)
    return ConfigurableFivetranWorkspace(**settings)


def test_lists_connectors_across_pages_and_reads_schema_configs(shared_stack: Stack) -> None:
    ws = workspace(shared_stack)
    client = ws.get_client()
    listed = client.list_connectors_for_group("fieldforce_local")
    assert {c["id"] for c in listed} == ALL_IDS  # 4 pages of 2
    data = ws.fetch_fivetran_workspace_data()
    assert set(data.connectors_by_id) == ALL_IDS
    salesforce = data.schema_configs_by_connector_id["salesforce_crm"].schemas["salesforce"]
    assert salesforce.name_in_destination == "fivetran_salesforce"
    assert not salesforce.tables["Case"].enabled
    assert salesforce.tables["Contact"].columns["Email"]["hashed"] is True
    columns = client.get_columns_config_for_table("salesforce_crm", "salesforce", "Contact")
    assert columns["columns"]["Phone"]["hashed"] is True
    keys = {spec.key.path[0] + "." + spec.key.path[1] for spec in ws.load_asset_specs()}
    assert "fivetran_salesforce.account" in keys
    assert "fivetran_postgres_bu_south.job_line_items" in keys
    assert "fivetran_salesforce.case" not in keys
    assert len(keys) == 2 * 5 + 3 + 3 + 3 + 1 + 1
    destination = client.get_destination_details("fieldforce_local")
    assert destination["service"] == "duckdb"


def test_sync_and_poll_runs_a_forced_sync_to_completion(shared_stack: Stack) -> None:
    stack = shared_stack
    stack.pg(
        stack.jobs_dsns["bu_south"],
        "update public.jobs set notes = 'polled', updated_at = now() where job_id = %s",
        (SOUTH + 7,),
    )
    client = workspace(stack).get_client()
    before = client.get_connector_details(JOBS_SOUTH)
    output = client.sync_and_poll(JOBS_SOUTH)
    assert output is not None
    details = output.connector_details
    assert details["succeeded_at"] > before["succeeded_at"]
    assert details["schedule_type"] == "manual"  # disable_schedule_on_trigger
    assert stack.warehouse_query(
        "select notes from fivetran_postgres_bu_south.jobs where job_id = ?", [SOUTH + 7]
    ) == [("polled",)]


def test_table_resync_restores_the_destination(shared_stack: Stack) -> None:
    stack = shared_stack
    con = duckdb.connect(str(stack.warehouse))
    try:
        con.execute("delete from fivetran_postgres_bu_south.jobs where job_id = ?", [SOUTH + 3])
    finally:
        con.close()
    client = workspace(stack).get_client()
    client.resync_and_poll(JOBS_SOUTH, resync_parameters={"public": ["jobs"]})
    assert stack.warehouse_query(
        "select _fivetran_deleted from fivetran_postgres_bu_south.jobs where job_id = ?",
        [SOUTH + 3],
    ) == [(False,)]
    with stack.client() as c:
        (last,) = c.get("/admin/syncs", params={"connector_id": JOBS_SOUTH, "limit": 1}).json()[
            "items"
        ]
    assert last["kind"] == "resync"
    assert last["tables"]["jobs"]["inserted"] == 1
    assert last["tables"]["customers"]["inserted"] == 0


def test_failed_sync_surfaces_as_failure_and_loses_nothing(shared_stack: Stack) -> None:
    stack = shared_stack
    north = stack.jobs_dsns["bu_north"]
    with stack.client() as c:
        c.post(f"/admin/faults/{JOBS_NORTH}", json={"type": "fail", "message": "source timeout"})
    stack.pg(
        north,
        "update public.jobs set status = 'cancelled', updated_at = now() where job_id <= %s",
        (NORTH + 20,),
    )
    stack.pg(north, "delete from public.jobs where job_id = %s", (NORTH + 30,))
    client = workspace(stack).get_client()
    with pytest.raises(dg.Failure, match=f"Sync for connector '{JOBS_NORTH}' failed"):
        client.sync_and_poll(JOBS_NORTH)
    details = client.get_connector_details(JOBS_NORTH)
    assert details["status"]["tasks"][0]["message"].endswith("source timeout")
    assert details["status"]["update_state"] == "delayed"
    # Nothing of the failed sync landed (the fault fires after the first table was written).
    assert stack.warehouse_query(
        "select count(*) from fivetran_postgres_bu_north.jobs where status = 'cancelled'"
        " and job_id <= ?",
        [NORTH + 20],
    ) != [(20,)]
    assert stack.warehouse_query(
        "select count(*) from fivetran_postgres_bu_north.jobs where _fivetran_deleted"
    ) == [(0,)]
    failures = stack.warehouse_query(
        "select message_data from fivetran_metadata.log where connection_id = ?"
        " and message_event = 'sync_end' and message_data like '%FAILURE%'",
        [JOBS_NORTH],
    )
    assert len(failures) == 1 and "source timeout" in failures[0][0]
    # More changes, then a good sync: everything is there.
    stack.pg(north, "update public.customers set city = 'Nowhere', updated_at = now()")
    client.sync_and_poll(JOBS_NORTH)
    assert_all_landed(stack)


def test_fails_n_times_in_a_row(shared_stack: Stack) -> None:
    stack, connector = shared_stack, "quickbooks_finance"
    with stack.client() as c:
        c.post(f"/admin/faults/{connector}", json={"type": "fail", "count": 3})
    client = workspace(stack).get_client()
    for _ in range(3):
        with pytest.raises(dg.Failure):
            client.sync_and_poll(connector)
    client.sync_and_poll(connector)
    with stack.client() as c:
        history = c.get("/admin/syncs", params={"connector_id": connector}).json()["items"]
    assert [h["status"] for h in history[-4:]] == ["FAILURE"] * 3 + ["SUCCESSFUL"]


def test_reschedule_becomes_a_dagster_retry(shared_stack: Stack) -> None:
    stack, connector = shared_stack, "servicetitan_ops"
    with stack.client() as c:
        c.post(f"/admin/faults/{connector}", json={"type": "reschedule", "seconds": 2})
    client = workspace(stack).get_client()
    before = client.get_connector_details(connector)["succeeded_at"]
    with pytest.raises(dg.RetryRequested) as raised:
        client.sync_and_poll(connector)
    assert 0 <= raised.value.seconds_to_wait <= 2
    details = client.get_connector_details(connector)
    assert details["status"]["sync_state"] == "rescheduled"
    assert details["status"]["rescheduled_for"]
    stack.wait_idle(timeout=30)
    after = client.get_connector_details(connector)
    assert after["succeeded_at"] > before
    assert after["status"]["sync_state"] == "scheduled"


def test_polling_sensor_with_env_var_credentials(
    shared_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIVETRAN_API_KEY", API_KEY)
    monkeypatch.setenv("FIVETRAN_API_SECRET", API_SECRET)
    monkeypatch.setenv("FIVETRAN_API_BASE_URL", shared_stack.api_url)
    # Upstream: the sensor uses the unresolved workspace, whose EnvVar fields are the names.
    upstream = FivetranWorkspace(
        account_id="fieldforce",
        api_key=dg.EnvVar("FIVETRAN_API_KEY"),
        api_secret=dg.EnvVar("FIVETRAN_API_SECRET"),
    )
    assert upstream.get_client().api_key == "FIVETRAN_API_KEY"
    ws = ConfigurableFivetranWorkspace(
        account_id="fieldforce",
        api_key=dg.EnvVar("FIVETRAN_API_KEY"),
        api_secret=dg.EnvVar("FIVETRAN_API_SECRET"),
        api_base_url=dg.EnvVar("FIVETRAN_API_BASE_URL"),
    )
    sensor = build_fivetran_polling_sensor(workspace=ws)
    with dg.instance_for_test() as instance:
        result = sensor(dg.build_sensor_context(instance=instance))
    keys = {event.asset_key.to_user_string() for event in result.asset_events}
    assert "fivetran_salesforce/account" in keys
    assert len(keys) == 21


def test_refused_connection_is_a_clear_failure() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    ws = ConfigurableFivetranWorkspace(
        account_id="fieldforce",
        api_key=API_KEY,
        api_secret=API_SECRET,
        api_base_url=url,
        request_max_retries=1,
        request_retry_delay=0.01,
    )
    with pytest.raises(dg.Failure, match=f"Could not reach the Fivetran API at {url}/groups"):
        ws.get_client().get_groups()
