"""The local Fivetran's engine room: connector state, the scheduler and the sync worker.

One `FivetranService` lives in the server process. Connectors with `schedule_type: auto` are
synced on the service clock (`speed` compresses it: a 15-minute connector syncs every
`15 * 60 / speed` real seconds); manual ones only when forced. Syncs run one at a time on a
worker thread, because DuckDB takes one writer per file anyway; a connector is never queued
twice. State the API reports (succeeded_at, paused, webhooks, ...) is persisted in
`<home>/state.json`; cursors live in the warehouse, committed with the data they describe.

Over 400 lines because it is one cohesive state machine: the connectors' runtime state, the
queue, the scheduler and the worker all change that state under one lock, and reading them
apart would hide the lock's reach. Faults (`faults.py`), source drift (`drift.py`), extraction
(`extract.py`) and the load transaction (`load.py`) live beside it.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from standins.fivetran import extract as ex
from standins.fivetran import load, schema_config
from standins.fivetran.config import (
    DEFAULT_CONNECTORS_YAML,
    AccountConfig,
    ConnectorConfig,
    SourceSettings,
    load_account,
    with_schema_config,
)
from standins.fivetran.drift import apply_drift
from standins.fivetran.faults import FaultBoard, Faults
from standins.fivetran.webhooks import WebhookHub, iso, iso_now
from standins.sources import catalog

CRASH_EXIT_CODE = 70
"""Exit status of the process when the `crash` fault kills it mid-sync."""


@dataclass
class SyncRequest:
    """A queued sync: plain, or a resync of some destination tables (None: all)."""

    connector_id: str
    resync: bool = False
    tables: set[str] | None = None
    reason: str = "scheduled"


def _now() -> datetime:
    return datetime.now(UTC)


class FivetranService:
    """State and behaviour behind the REST API."""

    def __init__(
        self,
        home: Path,
        sources: SourceSettings,
        warehouse: Path,
        speed: float = 1.0,
        connectors_yaml: Path = DEFAULT_CONNECTORS_YAML,
        webhook_max_attempts: int = 5,
        webhook_retry_base: float = 1.0,
        autostart: bool = True,
    ) -> None:
        """Load configuration and persisted state; start the scheduler and worker threads."""
        self.home = home
        self.home.mkdir(parents=True, exist_ok=True)
        self.sources = sources
        self.warehouse = warehouse
        self.speed = speed
        self.account: AccountConfig = load_account(sources, connectors_yaml)
        self.state_path = home / "state.json"
        self._lock = threading.RLock()
        saved = json.loads(self.state_path.read_text()) if self.state_path.exists() else {}
        self.runtime: dict[str, dict[str, Any]] = {}
        for cid, conn in self.account.connectors.items():
            self.runtime[cid] = self._initial_runtime(conn, saved.get("connectors", {}).get(cid))
        self.webhook_store: dict[str, dict[str, Any]] = saved.get("webhooks", {})
        self.history: list[dict[str, Any]] = saved.get("syncs", [])
        self.hub = WebhookHub(
            self.webhook_store,
            self.save,
            max_attempts=webhook_max_attempts,
            retry_base=webhook_retry_base,
        )
        self.fault_board = FaultBoard(self._lock)
        self.queue: queue.Queue[SyncRequest] = queue.Queue()
        self.pending: set[str] = set()
        self.running: str | None = None
        self._clock_real = time.time()
        self._clock_base = max(self._clock_real, float(saved.get("service_clock", 0.0)))
        self._stop = threading.Event()
        self._recover_interrupted()
        self.save()
        self._threads: list[threading.Thread] = []
        if autostart:
            self.start()

    # ------------------------------------------------------------------ lifecycle & state

    def start(self) -> None:
        """Start the scheduler and the worker."""
        for target in (self._scheduler_loop, self._worker_loop):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop the threads (the current sync finishes first)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def service_now(self) -> float:
        """The service clock (epoch seconds), running `speed` times faster than real time."""
        return self._clock_base + (time.time() - self._clock_real) * self.speed

    def _initial_runtime(
        self, conn: ConnectorConfig, saved: dict[str, Any] | None
    ) -> dict[str, Any]:
        runtime = {
            "paused": conn.paused,
            "schedule_type": conn.schedule_type,
            "sync_frequency": conn.sync_frequency,
            "daily_sync_time": "00:00",
            "succeeded_at": None,
            "failed_at": None,
            "created_at": iso_now(),
            "last_started_service": None,
            "rescheduled_for": None,
            "is_historical_sync": True,
            "syncing": False,
            "failures_in_a_row": 0,
            "last_error": None,
            "discovered": {},
            "schema_config": schema_config.initial(conn),
            "resync_tables": [],
        }
        if saved:
            runtime.update(saved)
        return runtime

    def save(self) -> None:
        """Persist runtime state atomically (write + rename)."""
        with self._lock:
            data = {
                "connectors": self.runtime,
                "webhooks": self.webhook_store,
                "syncs": self.history[-500:],
                "service_clock": self.service_now(),
            }
            tmp = self.state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1, default=str))
            tmp.replace(self.state_path)

    def _recover_interrupted(self) -> None:
        """A sync that was running when the process died is recorded as failed.

        Its transaction never committed, so the warehouse and cursors are as before it; the
        next sync reads the same changes again.
        """
        for cid, runtime in self.runtime.items():
            if runtime.get("syncing"):
                runtime["syncing"] = False
                message = "sync interrupted: the service stopped mid-sync; nothing was committed"
                self._finish(
                    cid, runtime.get("current_sync_id") or uuid.uuid4().hex, False, message
                )
                self._log_failure(cid, runtime.get("current_sync_id") or "", _now(), message)

    # ------------------------------------------------------------------ configuration views

    def connector(self, connector_id: str) -> ConnectorConfig:
        """The configured connector (KeyError if unknown)."""
        return self.account.connectors[connector_id]

    def source_configured(self, conn: ConnectorConfig) -> bool:
        """Whether the estate told us where this connector's source is."""
        storage = conn.catalog_system.storage
        if storage == "postgres_tenant":
            return conn.tenant in self.sources.jobs_db_dsns
        if storage == "postgres_saas":
            return bool(self.sources.saas_dsn)
        if storage == "parquet_batches":
            return self.sources.telematics_dir is not None
        return self.sources.sheets_dir is not None

    def sync_state(self, connector_id: str) -> str:
        """Fivetran's `status.sync_state`."""
        runtime = self.runtime[connector_id]
        if runtime["paused"]:
            return "paused"
        if self.running == connector_id:
            return "syncing"
        if runtime.get("rescheduled_for"):
            return "rescheduled"
        return "scheduled"

    def update_runtime(self, connector_id: str, updates: dict[str, Any]) -> None:
        """Apply an API PATCH (schedule_type, paused, sync_frequency, ...) and persist it."""
        with self._lock:
            self.runtime[connector_id].update(updates)
        self.save()

    def effective(self, connector_id: str) -> ConnectorConfig:
        """The connection as a sync runs it: as created, with the client's schema config."""
        with self._lock:
            settings = self.runtime[connector_id]["schema_config"]
            return with_schema_config(self.account.connectors[connector_id], settings)

    def schema_settings(self, connector_id: str) -> dict[str, Any]:
        """The schema config a client set (see :mod:`.schema_config` for the shape)."""
        return self.runtime[connector_id]["schema_config"]

    def configure_schema(
        self,
        connector_id: str,
        handling: str | None = None,
        tables: dict[str, tuple[bool | None, dict[str, dict[str, bool]]]] | None = None,
    ) -> None:
        """Record an API schema-config change (already validated) and persist it.

        A column whose hashing changes in a table that has landed is re-read whole by the next
        sync, so no row keeps the old form; Fivetran re-syncs such a table too.

        Args:
            connector_id: the connection.
            handling: the new ``schema_change_handling``, if it changes.
            tables: per source table, its new ``enabled`` (None: unchanged) and column changes.
        """
        with self._lock:
            runtime = self.runtime[connector_id]
            settings = runtime["schema_config"]
            if handling is not None:
                settings["schema_change_handling"] = handling
            for table, (enabled, columns) in (tables or {}).items():
                rehashed = schema_config.set_table(settings, table, enabled, columns)
                if rehashed and table in runtime.get("discovered", {}):
                    pending = set(runtime.get("resync_tables") or [])
                    pending.add(catalog.destination_name(table))
                    runtime["resync_tables"] = sorted(pending)
        self.save()

    # ------------------------------------------------------------------ requests

    def request_sync(
        self,
        connector_id: str,
        resync: bool = False,
        tables: set[str] | None = None,
        reason: str = "api",
    ) -> str:
        """Queue a sync (API force / resync / admin). Returns what happened.

        A connector is queued at most once; a request while it syncs queues one more sync, so
        changes made before the request are always picked up. An armed `reschedule` fault
        turns the request into a rescheduled sync instead.
        """
        with self._lock:
            faults = self.fault_board.armed.get(connector_id)
            if faults and faults.reschedule:
                delay = faults.reschedule.pop(0)
                at = _now() + timedelta(seconds=delay)
                self.runtime[connector_id]["rescheduled_for"] = iso(at)
                self.runtime[connector_id]["rescheduled_request"] = {
                    "resync": resync,
                    "tables": sorted(tables) if tables else None,
                }
                self.save()
                return "rescheduled"
            if connector_id in self.pending:
                return "already_queued"
            self.pending.add(connector_id)
            self.queue.put(SyncRequest(connector_id, resync, tables, reason))
            return "queued"

    def idle(self) -> bool:
        """No sync running or queued, no rescheduled sync waiting, no webhook in flight."""
        with self._lock:
            waiting = any(r.get("rescheduled_for") for r in self.runtime.values())
            due = any(self._due(cid) for cid in self.runtime)
            return (
                not self.pending
                and self.running is None
                and not waiting
                and not due
                and not self.hub.busy
            )

    def _due(self, cid: str) -> bool:
        """Whether the scheduler would queue this connector now."""
        runtime = self.runtime[cid]
        if runtime["paused"] or runtime["schedule_type"] != "auto":
            return False
        if not self.source_configured(self.account.connectors[cid]):
            return False
        last = runtime.get("last_started_service")
        return last is None or self.service_now() >= last + runtime["sync_frequency"] * 60

    # ------------------------------------------------------------------ threads

    def _scheduler_loop(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self._tick()
            except Exception as exc:  # the scheduler must outlive one bad tick
                sys.stderr.write(f"scheduler error: {exc!r}\n")

    def _tick(self) -> None:
        real = _now()
        with self._lock:
            for cid, runtime in self.runtime.items():
                conn = self.account.connectors[cid]
                if runtime["paused"] or not self.source_configured(conn):
                    continue
                if runtime.get("rescheduled_for"):
                    due = datetime.fromisoformat(runtime["rescheduled_for"].replace("Z", "+00:00"))
                    if real >= due and cid not in self.pending:
                        request = runtime.pop("rescheduled_request", None) or {}
                        runtime["rescheduled_for"] = None
                        tables = set(request["tables"]) if request.get("tables") else None
                        self.pending.add(cid)
                        self.queue.put(
                            SyncRequest(cid, bool(request.get("resync")), tables, "rescheduled")
                        )
                    continue
                if cid in self.pending or self.running == cid:
                    continue
                if self._due(cid):
                    self.pending.add(cid)
                    self.queue.put(SyncRequest(cid, reason="scheduled"))

    def _worker_loop(self) -> None:
        while not self._stop.is_set():
            try:
                request = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            with self._lock:
                self.pending.discard(request.connector_id)
                self.running = request.connector_id
            try:
                self.run_sync(request)
            except Exception as exc:
                sys.stderr.write(f"sync worker error: {exc!r}\n")
            finally:
                with self._lock:
                    self.running = None

    # ------------------------------------------------------------------ the sync

    def run_sync(self, request: SyncRequest) -> dict[str, Any]:
        """Run one sync end to end on the calling thread; return its history entry."""
        cid = request.connector_id
        conn = self.effective(cid)
        sync_id = uuid.uuid4().hex
        started = _now()
        t0 = time.perf_counter()
        with self._lock:
            runtime = self.runtime[cid]
            runtime["syncing"] = True
            runtime["current_sync_id"] = sync_id
            runtime["last_started_service"] = self.service_now()
            faults = self.fault_board.armed.setdefault(cid, Faults())
            fail_message = faults.fail.pop(0) if faults.fail else None
            slow = faults.slow.pop(0) if faults.slow else 0.0
            crash = faults.crash
            faults.crash = False
            self.save()
        self.hub.emit(
            "sync_start", self._payload("sync_start", conn, sync_id, None), self.account.group.id
        )
        stats: dict[str, Any] = {}
        error: str | None = None
        try:
            if slow:
                time.sleep(slow)
            stats = self._sync(conn, sync_id, started, request, fail_message, crash)
        except Exception as exc:
            error = str(exc) if isinstance(exc, ex.SyncError) else f"{type(exc).__name__}: {exc}"
            self._log_failure(cid, sync_id, started, error)
        entry = {
            "sync_id": sync_id,
            "connector_id": cid,
            "kind": "resync"
            if request.resync
            else ("historical" if runtime["is_historical_sync"] else "incremental"),
            "reason": request.reason,
            "started_at": iso(started),
            "finished_at": iso_now(),
            "duration_s": round(time.perf_counter() - t0, 4),
            "status": "SUCCESSFUL" if error is None else "FAILURE",
            "message": error,
            "tables": stats,
            "rows_inserted": sum(s["inserted"] for s in stats.values()),
            "rows_updated": sum(s["updated"] for s in stats.values()),
            "rows_deleted": sum(s["deleted"] for s in stats.values()),
            "mar": sum(s["mar"] for s in stats.values()),
        }
        self._finish(cid, sync_id, error is None, error, entry)
        data: dict[str, Any] = {"status": "SUCCESSFUL" if error is None else "FAILURE"}
        if error:
            data["reason"] = error
        self.hub.emit(
            "sync_end", self._payload("sync_end", conn, sync_id, data), self.account.group.id
        )
        return entry

    def _finish(
        self,
        cid: str,
        sync_id: str,
        ok: bool,
        error: str | None,
        entry: dict[str, Any] | None = None,
    ) -> None:
        with self._lock:
            runtime = self.runtime[cid]
            stamp = _now()
            previous = [runtime.get("succeeded_at"), runtime.get("failed_at")]
            for prev in previous:
                if prev:
                    prev_dt = datetime.fromisoformat(prev.replace("Z", "+00:00"))
                    if stamp <= prev_dt:
                        stamp = prev_dt + timedelta(milliseconds=1)
            if ok:
                runtime["succeeded_at"] = iso(stamp)
                runtime["is_historical_sync"] = False
                runtime["failures_in_a_row"] = 0
                runtime["last_error"] = None
            else:
                runtime["failed_at"] = iso(stamp)
                runtime["failures_in_a_row"] = runtime.get("failures_in_a_row", 0) + 1
                runtime["last_error"] = error
            runtime["syncing"] = False
            runtime["current_sync_id"] = None
            if entry is not None:
                self.history.append(entry)
            self.save()

    def _payload(
        self, event: str, conn: ConnectorConfig, sync_id: str, data: dict[str, Any] | None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "event": event,
            "created": iso_now(),
            "connector_type": conn.service,
            "connector_id": conn.id,
            "connector_name": conn.schema,
            "sync_id": sync_id,
            "destination_group_id": self.account.group.id,
        }
        if data is not None:
            payload["data"] = data
        return payload

    def _extract(
        self, conn: ConnectorConfig, states: dict[str, dict[str, Any]], full: set[str] | None
    ) -> ex.Extract:
        storage = conn.catalog_system.storage
        if not self.source_configured(conn):
            raise ex.SyncError(f"connector {conn.id}: source not configured")
        if storage == "postgres_tenant":
            return ex.extract_postgres(
                self.sources.jobs_db_dsns[conn.tenant or ""], conn, states, full
            )
        if storage == "postgres_saas":
            return ex.extract_postgres(self.sources.saas_dsn or "", conn, states, full)
        if storage == "parquet_batches":
            assert self.sources.telematics_dir is not None
            return ex.extract_telematics(self.sources.telematics_dir, conn, states, full)
        assert self.sources.sheets_dir is not None
        return ex.extract_sheets(self.sources.sheets_dir, conn)

    def _sync(
        self,
        conn: ConnectorConfig,
        sync_id: str,
        started: datetime,
        request: SyncRequest,
        fail_message: str | None,
        crash: bool,
    ) -> dict[str, Any]:
        # Phase 1: a short visit to read the cursors; the warehouse is not held while the
        # source is read, so dbt can run meanwhile.
        con = load.open_warehouse(self.warehouse)
        try:
            load.ensure_metadata(con)
            states = load.read_states(con, conn.id)
        finally:
            con.close()
        full: set[str] | None = None
        if request.resync:
            full = request.tables or {catalog.destination_name(t) for t in conn.tables}
        rehashed = set(self.runtime[conn.id].get("resync_tables") or [])
        if rehashed:
            full = (full or set()) | rehashed
        if full is not None:
            states = {k: v for k, v in states.items() if k not in full}
        extract = self._extract(conn, states, full)
        source_columns = schema_config.apply_to_extract(
            extract, conn, self.schema_settings(conn.id)
        )
        # Phase 3: one transaction for data, schema changes, metadata and cursors.
        synced_at = _now().replace(tzinfo=None)

        def after_table(table: str) -> None:
            if crash:
                sys.stderr.write(f"fault: crashing mid-sync of {conn.id} after {table}\n")
                sys.stderr.flush()
                os._exit(CRASH_EXIT_CODE)
            if fail_message is not None:
                raise ex.SyncError(f"connector {conn.id}: {fail_message}")

        con = load.open_warehouse(self.warehouse)
        try:
            con.execute("begin transaction")
            landed = load.dest_columns(con, conn.schema)
            for table in sorted(rehashed & set(landed)):
                # Re-read whole, the table is written anew: no row keeps its old (un)hashed form.
                con.execute(f"delete from {load.q(conn.schema)}.{load.q(table)}")
            loader = load.Loader(con, conn, self.account.hash_salt, synced_at, sync_id, after_table)
            stats = loader.apply(extract, states)
            entries: list[tuple[datetime, str, str, dict[str, Any]]] = [
                (started.replace(tzinfo=None), "INFO", "sync_start", {"reason": request.reason})
            ]
            entries += [(synced_at, level, event, data) for level, event, data in loader.logs]
            entries.append(
                (
                    _now().replace(tzinfo=None),
                    "INFO",
                    "sync_end",
                    {"status": "SUCCESSFUL", "tables": {t: s.as_dict() for t, s in stats.items()}},
                )
            )
            load.write_log(con, conn.id, sync_id, entries)
            runtime = self.runtime[conn.id]
            load.write_connection(
                con,
                {
                    "connection_id": conn.id,
                    "connection_name": conn.schema,
                    "connector_type": conn.service,
                    "destination_schema": conn.schema,
                    "sync_frequency": runtime["sync_frequency"],
                    "schedule_type": runtime["schedule_type"],
                    "paused": runtime["paused"],
                    "created_at": datetime.fromisoformat(
                        runtime["created_at"].replace("Z", "+00:00")
                    ).replace(tzinfo=None),
                    "group_id": self.account.group.id,
                    "succeeded_at": synced_at,
                    "failed_at": None,
                },
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        finally:
            con.close()
        with self._lock:
            discovered = self.runtime[conn.id].setdefault("discovered", {})
            discovered.update(source_columns)
            self.runtime[conn.id]["resync_tables"] = sorted(
                set(self.runtime[conn.id].get("resync_tables") or []) - rehashed
            )
        return {t: s.as_dict() for t, s in stats.items()}

    def _log_failure(self, cid: str, sync_id: str, started: datetime, message: str) -> None:
        """Record a failed sync in `fivetran_metadata.log` (its own small transaction)."""
        try:
            con = load.open_warehouse(self.warehouse)
        except Exception as exc:
            sys.stderr.write(f"could not log failure of {cid}: {exc!r}\n")
            return
        try:
            load.ensure_metadata(con)
            load.write_log(
                con,
                cid,
                sync_id,
                [
                    (started.replace(tzinfo=None), "INFO", "sync_start", {}),
                    (
                        _now().replace(tzinfo=None),
                        "SEVERE",
                        "sync_end",
                        {"status": "FAILURE", "reason": message},
                    ),
                ],
            )
        finally:
            con.close()

    # ------------------------------------------------------------------ faults & drift

    def arm_fault(self, connector_id: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Arm a fault for the connector's next sync(s); see the admin API for the shapes."""
        return self.fault_board.arm(connector_id, spec)

    def clear_faults(self, connector_id: str) -> None:
        """Disarm every fault of a connector."""
        self.fault_board.clear(connector_id)

    def fault_view(self, connector_id: str) -> dict[str, Any]:
        """Armed faults of a connector."""
        return self.fault_board.view(connector_id)

    def drift(self, connector_id: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Change the connector's PostgreSQL source table (see :func:`drift.apply_drift`)."""
        return apply_drift(self.account.connectors[connector_id], self.sources, spec)
