"""The production webhook receiver against the local Fivetran: verified, minimal, and safe."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import duckdb
import pytest
from standins.fivetran.webhooks import sign
from standins.sources import catalog
from starlette.testclient import TestClient
from testkit.stack import API_KEY, API_SECRET, Stack

from analytics_platform.ingest.fivetran import ConfigurableFivetranWorkspace
from analytics_platform.ingest.observe import fetch_tables_by_connector, instance_reported
from analytics_platform.ingest.webhook import SIGNATURE_HEADER, SyncObserver, create_app

SECRET = "whsec-test-secret"
NORTH = catalog.ID_OFFSET


def _payload(connector_id: str, status: str = "SUCCESSFUL") -> dict[str, Any]:
    return {
        "event": "sync_end",
        "created": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "connector_type": "postgres",
        "connector_id": connector_id,
        "connector_name": connector_id,
        "sync_id": "s-1",
        "destination_group_id": "fieldforce_local",
        "data": {"status": status},
    }


@pytest.fixture
def receiver(stack: Stack) -> Iterator[tuple[TestClient, list[Any]]]:
    workspace = ConfigurableFivetranWorkspace(
        account_id="test", api_key=API_KEY, api_secret=API_SECRET, api_base_url=stack.api_url
    )

    @contextmanager
    def connect() -> Iterator[duckdb.DuckDBPyConnection]:
        connection = duckdb.connect(str(stack.warehouse), read_only=True)
        try:
            yield connection
        finally:
            connection.close()

    instance = dg.DagsterInstance.ephemeral()
    observer = SyncObserver(
        lambda: fetch_tables_by_connector(workspace.get_client()),
        connect,
        instance_reported(instance),
    )
    reported: list[Any] = []

    def deliver(event: Any) -> None:
        instance.report_runless_asset_event(event)
        reported.append(event)

    app = create_app(SECRET, observer, deliver)
    with TestClient(app) as client:
        yield client, reported


def _post(client: TestClient, payload: dict[str, Any], signature: str | None) -> Any:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    return client.post("/webhooks/fivetran", content=body, headers=headers)


def test_forged_or_unsigned_webhooks_get_401_and_change_nothing(
    receiver: tuple[TestClient, list[Any]],
) -> None:
    client, reported = receiver
    payload = _payload("postgres_jobs_bu_north")
    body = json.dumps(payload).encode()
    assert _post(client, payload, None).status_code == 401
    assert _post(client, payload, sign(body, "another-secret")).status_code == 401
    tampered = dict(payload, connector_id="postgres_jobs_bu_south")
    assert _post(client, tampered, sign(body, SECRET)).status_code == 401
    assert reported == []


def test_sync_end_reports_only_the_tables_a_sync_changed(
    stack: Stack, receiver: tuple[TestClient, list[Any]]
) -> None:
    client, reported = receiver
    connector = "postgres_jobs_bu_north"

    def deliver(status: str = "SUCCESSFUL") -> list[str]:
        payload = _payload(connector, status)
        response = _post(client, payload, sign(json.dumps(payload).encode(), SECRET))
        assert response.status_code == 200, response.text
        return response.json()["reported"]

    # First sync_end after the initial sync: every landed table of the connector is new data.
    first = deliver()
    schema = "fivetran_postgres_bu_north"
    assert sorted(first) == sorted(
        f"fivetran/{schema}/{catalog.destination_name(t.name)}" for t in catalog.JOBS_DB.tables
    )
    assert all(isinstance(event, dg.AssetMaterialization) for event in reported)
    jobs_event = next(e for e in reported if e.asset_key.path[-1] == "jobs")
    assert jobs_event.metadata["fivetran/rows_written"].value > 0

    # A sync that lands nothing reports nothing, so nothing downstream rebuilds.
    stack.sync(connector)
    assert deliver() == []

    # Two jobs change: only the jobs table is reported, with its row counts.
    stack.pg(
        stack.jobs_dsns["bu_north"],
        "update public.jobs set priority = 'high', updated_at = now()"
        " where job_id between %s and %s",
        (NORTH + 1, NORTH + 2),
    )
    stack.sync(connector)
    reported.clear()
    assert deliver() == [f"fivetran/{schema}/jobs"]
    assert reported[0].metadata["fivetran/rows_written"].value == 2
    assert reported[0].metadata["fivetran/rows_deleted"].value == 0


def test_failed_sync_is_visible_but_materializes_nothing(
    receiver: tuple[TestClient, list[Any]],
) -> None:
    client, reported = receiver
    payload = _payload("postgres_jobs_bu_south", status="FAILURE")
    response = _post(client, payload, sign(json.dumps(payload).encode(), SECRET))
    assert response.status_code == 200
    assert reported and all(isinstance(e, dg.AssetObservation) for e in reported)
    assert {e.metadata["fivetran/sync_status"].value for e in reported} == {"FAILURE"}


def test_unknown_connector_is_404_and_malformed_body_400(
    receiver: tuple[TestClient, list[Any]],
) -> None:
    client, reported = receiver
    payload = _payload("no_such_connector")
    assert _post(client, payload, sign(json.dumps(payload).encode(), SECRET)).status_code == 404
    garbage = b"not json"
    response = client.post(
        "/webhooks/fivetran", content=garbage, headers={SIGNATURE_HEADER: sign(garbage, SECRET)}
    )
    assert response.status_code == 400
    assert reported == []


def test_the_sweep_reports_syncs_whose_webhooks_never_arrived(stack: Stack) -> None:
    workspace = ConfigurableFivetranWorkspace(
        account_id="test", api_key=API_KEY, api_secret=API_SECRET, api_base_url=stack.api_url
    )

    @contextmanager
    def connect() -> Iterator[duckdb.DuckDBPyConnection]:
        connection = duckdb.connect(str(stack.warehouse), read_only=True)
        try:
            yield connection
        finally:
            connection.close()

    client = workspace.get_client()
    instance = dg.DagsterInstance.ephemeral()
    observer = SyncObserver(
        lambda: fetch_tables_by_connector(client),
        connect,
        instance_reported(instance),
        connector_details=client.get_connector_details,
    )
    # Syncs already happened and no webhook was delivered: the sweep finds every landed table.
    first = observer.reconcile(client.get_connector_details)
    for event in first:
        instance.report_runless_asset_event(event)
    landed = {event.asset_key.path[1] for event in first}
    assert "fivetran_postgres_bu_north" in landed and len(landed) >= 3
    assert all(isinstance(event, dg.AssetMaterialization) for event in first)
    # A second sweep with no new sync reports nothing; a new sync with a change reports it once.
    assert observer.reconcile(client.get_connector_details) == []
    stack.pg(
        stack.jobs_dsns["bu_south"],
        "update public.jobs set priority = 'low', updated_at = now() where job_id = %s",
        (catalog.ID_OFFSET * 2 + 1,),
    )
    stack.sync("postgres_jobs_bu_south")
    swept = observer.reconcile(client.get_connector_details)
    assert [event.asset_key.to_user_string() for event in swept] == [
        "fivetran/fivetran_postgres_bu_south/jobs"
    ]
    assert observer.reconcile(client.get_connector_details) == []
    # A receiver restarted over the same instance picks up where Dagster's record ends: the
    # swept change was never delivered, so it is found again, and nothing else is.
    restarted = SyncObserver(
        lambda: fetch_tables_by_connector(client),
        connect,
        instance_reported(instance),
        connector_details=client.get_connector_details,
    )
    assert [e.asset_key for e in restarted.reconcile(client.get_connector_details)] == [
        swept[0].asset_key
    ]
