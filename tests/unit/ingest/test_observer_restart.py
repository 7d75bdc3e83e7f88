"""The receiver's watermarks are the Dagster instance's record: a restart loses and repeats nothing.

A DuckDB warehouse in memory stands in for the destination (two landed tables with
``_fivetran_synced``), an ephemeral instance for Dagster; "a restart" is a new
:class:`SyncObserver` over the same instance, as a new process would build.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
import duckdb
import pytest

from analytics_platform.ingest.observe import Reported, instance_reported
from analytics_platform.ingest.webhook import Debouncer, SyncObserver
from analytics_platform.ingest.webhook.reporting import latest_events_query, parse_latest_events

CONNECTOR = "jobs_db"
TABLES = [("raw", "jobs"), ("raw", "visits")]


class Fivetran:
    """The connector's last sync, as the Fivetran API answers it."""

    def __init__(self) -> None:
        self.details: dict[str, Any] = {}

    def __call__(self, connector_id: str) -> dict[str, Any]:
        return dict(self.details)


@pytest.fixture
def warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(":memory:")
    connection.execute("create schema raw")
    for _, table in TABLES:
        connection.execute(
            f"create table raw.{table} (id int, _fivetran_synced timestamp,"
            " _fivetran_deleted boolean)"
        )
    yield connection
    connection.close()


def _land(warehouse: duckdb.DuckDBPyConnection, table: str, at: str) -> None:
    """One sync writes one row into ``table`` at ``at`` (its ``_fivetran_synced``)."""
    warehouse.execute(f"insert into raw.{table} values (1, cast(? as timestamp), false)", [at])


def _observer(
    warehouse: duckdb.DuckDBPyConnection, instance: dg.DagsterInstance, api: Fivetran
) -> SyncObserver:
    @contextmanager
    def connect() -> Iterator[duckdb.DuckDBPyConnection]:
        yield warehouse.cursor()

    return SyncObserver(
        lambda: {CONNECTOR: TABLES},
        connect,
        instance_reported(instance),
        connector_details=api,
    )


def _tables(events: list[Any]) -> list[str]:
    return sorted(event.asset_key.path[-1] for event in events)


def test_a_restarted_receiver_reports_nothing_already_reported(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    instance, api = dg.DagsterInstance.ephemeral(), Fivetran()
    _land(warehouse, "jobs", "2025-01-01 12:00:00")
    _land(warehouse, "visits", "2025-01-01 12:00:00")
    api.details = {"succeeded_at": "2025-01-01T12:00:05Z"}
    first = _observer(warehouse, instance, api)
    events = first.reconcile(api)
    assert _tables(events) == ["jobs", "visits"]
    for event in events:
        instance.report_runless_asset_event(event)

    restarted = _observer(warehouse, instance, api)
    assert restarted.reconcile(api) == []
    assert restarted.on_sync_end({"connector_id": CONNECTOR, "event": "sync_end"}) == []


def test_a_sync_that_ended_while_the_receiver_was_down_is_found_by_the_start_up_sweep(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    instance, api = dg.DagsterInstance.ephemeral(), Fivetran()
    _land(warehouse, "jobs", "2025-01-01 12:00:00")
    _land(warehouse, "visits", "2025-01-01 12:00:00")
    api.details = {"succeeded_at": "2025-01-01T12:00:05Z"}
    for event in _observer(warehouse, instance, api).reconcile(api):
        instance.report_runless_asset_event(event)
    # The receiver is down; a sync lands on one table and its webhook is never delivered.
    _land(warehouse, "visits", "2025-01-01 12:15:00")
    api.details = {"succeeded_at": "2025-01-01T12:15:05Z"}

    swept = _observer(warehouse, instance, api).reconcile(api)
    assert _tables(swept) == ["visits"]
    assert swept[0].metadata["fivetran/synced_through"].value.startswith("2025-01-01T12:15")


def test_what_was_measured_but_not_delivered_before_a_crash_is_reported_after_it(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    instance, api = dg.DagsterInstance.ephemeral(), Fivetran()
    _land(warehouse, "jobs", "2025-01-01 12:00:00")
    _land(warehouse, "visits", "2025-01-01 12:00:00")
    api.details = {"succeeded_at": "2025-01-01T12:00:05Z"}
    delivered: list[Any] = []

    def deliver(event: Any) -> None:
        # Dagster accepts the first event, then the process dies (kill -9 mid-release).
        if delivered:
            raise ConnectionError("receiver killed")
        instance.report_runless_asset_event(event)
        delivered.append(event)

    crashed = _observer(warehouse, instance, api)
    debouncer = Debouncer(deliver, quiet_s=0)
    debouncer.add(CONNECTOR, crashed.on_sync_end({"connector_id": CONNECTOR}))
    debouncer.release()
    # The same process does not measure them twice (they are still pending in memory) ...
    assert crashed.reconcile(api) == []
    # ... and a new process, which lost that memory, measures exactly the undelivered one.
    after = _observer(warehouse, instance, api).reconcile(api)
    assert _tables(after) == sorted({"jobs", "visits"} - {_tables(delivered)[0]})


def test_a_failed_sync_already_reported_is_not_reported_again_after_a_restart(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    instance, api = dg.DagsterInstance.ephemeral(), Fivetran()
    api.details = {"failed_at": "2025-01-01T12:00:05Z", "status": {"tasks": "auth"}}
    failures = _observer(warehouse, instance, api).reconcile(api)
    assert _tables(failures) == ["jobs", "visits"]
    assert all(isinstance(event, dg.AssetObservation) for event in failures)
    for event in failures:
        instance.report_runless_asset_event(event)
    assert _observer(warehouse, instance, api).reconcile(api) == []
    api.details = {"failed_at": "2025-01-01T13:00:05Z", "status": {"tasks": "auth"}}
    assert len(_observer(warehouse, instance, api).reconcile(api)) == 2


def test_the_webservers_answer_reads_back_as_the_instance_would() -> None:
    keys = [dg.AssetKey(["fivetran", "raw", "jobs"]), dg.AssetKey(["fivetran", "raw", "new"])]
    query = latest_events_query(keys)
    assert 'k0: assetOrError(assetKey: {path: ["fivetran", "raw", "jobs"]})' in query
    assert "k1: assetOrError" in query
    data = {
        "k0": {
            "assetMaterializations": [
                {
                    "metadataEntries": [
                        {"label": "fivetran/rows_written", "intRepr": "3"},
                        {
                            "label": "fivetran/synced_through",
                            "text": "2025-01-01T12:00:00+00:00",
                        },
                    ]
                }
            ],
            "assetObservations": [
                {"metadataEntries": [{"label": "fivetran/failed_at", "text": "2025-01-02"}]}
            ],
        },
        "k1": {},  # AssetNotFoundError: Dagster never heard of the table
    }
    parsed = parse_latest_events(keys, data)
    assert parsed[keys[0]].synced_through is not None
    assert parsed[keys[0]].synced_through.isoformat() == "2025-01-01T12:00:00+00:00"
    assert parsed[keys[0]].failed_at == "2025-01-02"
    assert parsed[keys[1]] == Reported()
