"""What a sync changed: ``sync_end`` events and sweeps in, Dagster events out, watermarks kept.

The watermarks (per connector table, what has been reported) live in a JSON file, written
atomically after every measurement, so a restarted receiver, or a sweep that looks at a sync
the webhook already reported, reports nothing twice.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import dagster as dg

from analytics_platform.ingest.changes import Dialect
from analytics_platform.ingest.observe import observe_connector

Event = dg.AssetMaterialization | dg.AssetObservation
"""What the receiver reports: a materialization of changed data, or an observation of a
failed sync."""


class SyncObserver:
    """Turns verified ``sync_end`` events into Dagster events, keeping watermarks on disk."""

    def __init__(
        self,
        tables: Callable[[], dict[str, list[tuple[str, str]]]],
        connect: Callable[[], AbstractContextManager[Any]],
        state_path: Path,
        dialect: Dialect = "duckdb",
        connector_details: Callable[[str], Mapping[str, Any]] | None = None,
    ) -> None:
        """Tables are fetched lazily (and again for an unknown connector).

        With ``connector_details`` (the Fivetran API), a ``sync_end`` is read back from the
        API so that webhook and sweep record the very same ``succeeded_at``/``failed_at``.
        """
        self._connector_details = connector_details
        self._fetch_tables = tables
        self._tables: dict[str, list[tuple[str, str]]] | None = None
        self._connect = connect
        self._state_path = state_path
        self._dialect = dialect
        self._lock = threading.Lock()
        self._state: dict[str, Any] = (
            json.loads(state_path.read_text()) if state_path.exists() else {}
        )

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
        """Events for syncs the API knows of and this receiver has not seen (the sweep)."""
        self._tables = self._fetch_tables()
        events: list[Event] = []
        for connector_id, tables in sorted(self._tables.items()):
            events += self._observe(connector_id, connector_details(connector_id), tables)
        return events

    def _observe(
        self, connector_id: str, details: Mapping[str, Any], tables: list[tuple[str, str]]
    ) -> list[Event]:
        """Measure one connector's sync against the watermarks, then persist them."""
        with self._lock, self._connect() as connection:
            events = observe_connector(
                connection, connector_id, details, tables, self._state, self._dialect
            )
            tmp = self._state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._state, sort_keys=True))
            tmp.replace(self._state_path)
        return events
