"""What a sync changed: ``sync_end`` events and sweeps in, Dagster events out.

The watermarks (per connector table, what has been reported) are Dagster's own record: the
``fivetran/synced_through`` of each table's latest materialization and the ``fivetran/failed_at``
of its latest failure observation, read through a :data:`~analytics_platform.ingest.observe.
ReportedReader`. The receiver keeps no file: a restarted receiver starts from what Dagster
holds, so a sync it measured but had not delivered when it died (held by the debouncer, or
killed mid-release) is still unreported there, and its start-up sweep measures it again.

In memory the observer is ahead of Dagster by exactly the events it has measured and not yet
delivered, so a sweep that looks at a sync the webhook already measured reports nothing twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

import dagster as dg

from analytics_platform.ingest.changes import Dialect
from analytics_platform.ingest.observe import ReportedReader, observe_connector

Event = dg.AssetMaterialization | dg.AssetObservation
"""What the receiver reports: a materialization of changed data, or an observation of a
failed sync."""


class SyncObserver:
    """Turns verified ``sync_end`` events into Dagster events, measured from Dagster's watermarks."""

    def __init__(
        self,
        tables: Callable[[], dict[str, list[tuple[str, str]]]],
        connect: Callable[[], AbstractContextManager[Any]],
        reported: ReportedReader,
        dialect: Dialect = "duckdb",
        connector_details: Callable[[str], Mapping[str, Any]] | None = None,
    ) -> None:
        """Tables are fetched lazily (and again for an unknown connector).

        Args:
            tables: ``connector_id -> [(schema, table)]`` of the enabled tables.
            connect: a warehouse connection (context manager).
            reported: what Dagster already holds per landed table; read once per table per
                process, before the table is first measured.
            dialect: the warehouse's identifier quoting.
            connector_details: the Fivetran API's connector object; with it a ``sync_end`` is
                read back from the API so that webhook and sweep record the very same
                ``succeeded_at``/``failed_at``.
        """
        self._connector_details = connector_details
        self._fetch_tables = tables
        self._tables: dict[str, list[tuple[str, str]]] | None = None
        self._connect = connect
        self._reported = reported
        self._dialect = dialect
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {"connectors": {}, "watermarks": {}}
        self._loaded: set[tuple[str, str]] = set()

    def tables_of(self, connector_id: str) -> list[tuple[str, str]] | None:
        """The connector's enabled tables (None: not a connector Fivetran knows)."""
        if self._tables is None or connector_id not in self._tables:
            self._tables = self._fetch_tables()
        return self._tables.get(connector_id)

    def on_sync_end(self, payload: dict[str, Any]) -> list[Event]:
        """Events for one ``sync_end`` payload (serialised: one sync is measured at a time)."""
        connector_id = str(payload.get("connector_id", ""))
        status = str((payload.get("data") or {}).get("status", "")).upper()
        created = payload.get("created")
        tables = self.tables_of(connector_id)
        if tables is None:
            raise LookupError(f"unknown connector {connector_id!r}")
        details: dict[str, Any]
        if self._connector_details is not None:
            details = dict(self._connector_details(connector_id))
        elif status != "SUCCESSFUL":
            reason = (payload.get("data") or {}).get("reason", status)
            details = {"failed_at": created, "status": {"tasks": reason}}
        else:
            details = {"succeeded_at": created}
        return self._observe(connector_id, details, tables)

    def reconcile(self, connector_details: Callable[[str], Mapping[str, Any]]) -> list[Event]:
        """Events for syncs the API knows of and Dagster has not been told of (the sweep)."""
        self._tables = self._fetch_tables()
        events: list[Event] = []
        for connector_id, tables in sorted(self._tables.items()):
            events += self._observe(connector_id, connector_details(connector_id), tables)
        return events

    def _observe(
        self, connector_id: str, details: Mapping[str, Any], tables: list[tuple[str, str]]
    ) -> list[Event]:
        """Measure one connector's sync against the watermarks (loaded from Dagster first)."""
        with self._lock:
            self._load(connector_id, tables)
            with self._connect() as connection:
                return observe_connector(
                    connection, connector_id, details, tables, self._state, self._dialect
                )

    def _load(self, connector_id: str, tables: list[tuple[str, str]]) -> None:
        """Seed the watermarks of tables not measured yet by this process from Dagster."""
        new = [pair for pair in tables if pair not in self._loaded]
        if not new:
            return
        keys = {dg.AssetKey(["fivetran", schema, table]): (schema, table) for schema, table in new}
        reported = self._reported(list(keys))
        watermarks: dict[str, str] = self._state["watermarks"]
        seen: dict[str, Any] = self._state["connectors"].setdefault(connector_id, {})
        for key, (schema, table) in keys.items():
            known = reported.get(key)
            if known is not None and known.synced_through is not None:
                watermarks.setdefault(f"{schema}.{table}", known.synced_through.isoformat())
            # A failure is reported on every table of its connector: the newest one reported
            # on any of them was reported for the connector.
            if (
                known is not None
                and known.failed_at
                and known.failed_at > seen.get("failed_at", "")
            ):
                seen["failed_at"] = known.failed_at
        self._loaded.update(new)
