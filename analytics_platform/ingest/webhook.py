"""The Fivetran webhook receiver: ``sync_end`` in, materializations of changed tables out.

Fivetran POSTs each event with ``X-Fivetran-Signature-256``, the HMAC-SHA256 of the raw body
under the webhook's secret (hex). A request without a valid signature gets 401 and changes
nothing. On a verified ``sync_end`` the receiver measures what the sync changed in the
destination and reports those tables to the Dagster webserver's REST endpoint
(``/report_asset_materialization/<key>``); the automation sensor then rebuilds what is
downstream, within seconds. A failed sync is reported as an observation (visible in the UI),
never as a materialization, so nothing downstream runs.

Two more duties make the path lossless and economical:

* **Debounce** (:class:`Debouncer`): reports are held while another sync is in flight (a
  ``sync_start`` with no ``sync_end`` yet) and for a short quiet period, then released together,
  so connectors that land close together trigger one rebuild of what they share. Reports that
  fail to reach Dagster are kept and retried, never dropped.
* **Sweep** (:meth:`SyncObserver.reconcile`): at start-up and then periodically the receiver asks
  the Fivetran API for each connector's last sync, so a sync that ended while the receiver was
  down, or whose webhook Fivetran gave up delivering, is still reported (watermarks make a
  second look at the same sync report nothing).

Run it next to the Dagster webserver: ``python -m analytics_platform.ingest.webhook --port P``
(settings from the environment; see ``.env.example``). Register its public URL with Fivetran
(``POST /v1/webhooks/account`` with events ``sync_start``/``sync_end`` and the same secret).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dagster as dg
import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from analytics_platform.ingest.changes import Dialect
from analytics_platform.ingest.observe import (
    fetch_tables_by_connector,
    observe_connector,
    with_platform_tables,
)

log = logging.getLogger("fieldforce.webhook")

SIGNATURE_HEADER = "X-Fivetran-Signature-256"


def signature(body: bytes, secret: str) -> str:
    """Fivetran's signature of a body: hex HMAC-SHA256 under the webhook secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, secret: str) -> bool:
    """Constant-time check of the signature header (hex case does not matter)."""
    if not header:
        return False
    return hmac.compare_digest(header.strip().lower(), signature(body, secret))


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

    def on_sync_end(
        self, payload: dict[str, Any]
    ) -> list[dg.AssetMaterialization | dg.AssetObservation]:
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
        with self._lock, self._connect() as connection:
            events = observe_connector(
                connection, connector_id, details, tables, self._state, self._dialect
            )
            tmp = self._state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._state, sort_keys=True))
            tmp.replace(self._state_path)
        return events

    def reconcile(
        self, connector_details: Callable[[str], Mapping[str, Any]]
    ) -> list[dg.AssetMaterialization | dg.AssetObservation]:
        """Events for syncs the API knows of and this receiver has not seen (the sweep)."""
        self._tables = self._fetch_tables()
        events: list[dg.AssetMaterialization | dg.AssetObservation] = []
        for connector_id, tables in sorted(self._tables.items()):
            details = connector_details(connector_id)
            with self._lock, self._connect() as connection:
                events += observe_connector(
                    connection, connector_id, details, tables, self._state, self._dialect
                )
                tmp = self._state_path.with_suffix(".tmp")
                tmp.write_text(json.dumps(self._state, sort_keys=True))
                tmp.replace(self._state_path)
        return events


Event = dg.AssetMaterialization | dg.AssetObservation


class Debouncer:
    """Releases reports once no sync is in flight and a quiet period has passed.

    Fivetran runs connectors in parallel: when two land close together, reporting each at once
    would start a rebuild of their shared downstream assets, and the second report would then
    need another. Holding reports until the in-flight syncs end (at most ``max_hold_s``) and
    ``quiet_s`` has passed without a new event releases them in one burst: one rebuild.
    """

    def __init__(
        self,
        reporter: Callable[[Event], None],
        quiet_s: float = 3.0,
        max_hold_s: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``reporter`` delivers one event and raises when it could not."""
        self._reporter = reporter
        self._quiet_s = quiet_s
        self._max_hold_s = max_hold_s
        self._clock = clock
        self._cond = threading.Condition()
        self._pending: list[Event] = []
        self._in_flight: dict[str, float] = {}
        self._last_activity = clock()
        self._first_pending: float | None = None
        self._stopped = False
        self._thread: threading.Thread | None = None

    def sync_started(self, connector_id: str) -> None:
        """A ``sync_start``: hold what is pending until this sync ends."""
        with self._cond:
            self._in_flight[connector_id] = self._clock()
            self._last_activity = self._clock()

    def add(self, connector_id: str | None, events: Iterable[Event]) -> None:
        """A sync ended (or the sweep found events): queue its events for release."""
        with self._cond:
            if connector_id is not None:
                self._in_flight.pop(connector_id, None)
            new = list(events)
            if new and self._first_pending is None:
                self._first_pending = self._clock()
            self._pending += new
            self._last_activity = self._clock()
            self._cond.notify_all()

    def due(self) -> bool:
        """Whether pending events should be released now."""
        if not self._pending:
            return False
        now = self._clock()
        # A sync_start with no sync_end for longer than max_hold is not waited for: its
        # sync_end may never come (a crashed sync), and holding forever would lose freshness.
        in_flight = any(now - started < self._max_hold_s for started in self._in_flight.values())
        quiet = now - self._last_activity >= self._quiet_s
        held_too_long = (
            self._first_pending is not None and now - self._first_pending >= self._max_hold_s
        )
        return (quiet and not in_flight) or held_too_long

    def release(self) -> list[Event]:
        """Deliver what is due; events that fail to deliver go back to the queue."""
        with self._cond:
            if not self.due():
                return []
            batch, self._pending, self._first_pending = self._pending, [], None
        delivered: list[Event] = []
        for position, event in enumerate(batch):
            try:
                self._reporter(event)
            except Exception:
                log.exception("could not report %s; will retry", event.asset_key)
                with self._cond:
                    self._pending = batch[position:] + self._pending
                    self._first_pending = self._first_pending or self._clock()
                    self._last_activity = self._clock()
                break
            delivered.append(event)
        return delivered

    def start(self) -> Debouncer:
        """Release in a background thread until :meth:`stop`."""

        def loop() -> None:
            while not self._stopped:
                with self._cond:
                    self._cond.wait(timeout=0.5)
                self.release()

        self._thread = threading.Thread(target=loop, name="webhook-debouncer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the background thread (pending events stay queued)."""
        self._stopped = True
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)


def report(dagster_url: str, event: dg.AssetMaterialization | dg.AssetObservation) -> None:
    """Report one event to the Dagster webserver's REST API."""
    kind = "materialization" if isinstance(event, dg.AssetMaterialization) else "observation"
    path = "/".join(quote(part, safe="") for part in event.asset_key.path)
    body = {
        "description": event.description,
        "metadata": {key: value.value for key, value in event.metadata.items()},
    }
    response = httpx.post(
        f"{dagster_url.rstrip('/')}/report_asset_{kind}/{path}",
        content=json.dumps(body, default=str),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    response.raise_for_status()


def create_app(
    secret: str,
    observer: SyncObserver,
    reporter: Callable[[dg.AssetMaterialization | dg.AssetObservation], None],
    debouncer: Debouncer | None = None,
) -> Starlette:
    """The receiver's ASGI app; with a ``debouncer`` reports are released by it, not inline."""
    if not secret:
        raise ValueError("the webhook secret is empty: set FIVETRAN_WEBHOOK_SECRET")

    async def fivetran(request: Request) -> JSONResponse:
        body = await request.body()
        if not verify(body, request.headers.get(SIGNATURE_HEADER), secret):
            log.warning("rejected a webhook with a missing or invalid %s", SIGNATURE_HEADER)
            return JSONResponse({"error": f"invalid {SIGNATURE_HEADER}"}, status_code=401)
        try:
            payload = json.loads(body)
            event = payload["event"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "body is not a Fivetran webhook event"}, 400)
        connector_id = str(payload.get("connector_id", ""))
        if event == "sync_start" and debouncer is not None:
            debouncer.sync_started(connector_id)
        if event != "sync_end":
            return JSONResponse({"event": event, "reported": []})
        try:
            events = await run_in_threadpool(observer.on_sync_end, payload)
        except LookupError as exc:
            if debouncer is not None:
                debouncer.add(connector_id, [])
            return JSONResponse({"error": str(exc)}, status_code=404)
        if debouncer is not None:
            debouncer.add(connector_id, events)
        else:
            for item in events:
                await run_in_threadpool(reporter, item)
        return JSONResponse(
            {"event": event, "reported": [item.asset_key.to_user_string() for item in events]}
        )

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/webhooks/fivetran", fivetran, methods=["POST"]),
            Route("/health", health),
        ]
    )


def _warehouse_connections() -> Callable[[], AbstractContextManager[Any]]:
    from analytics_platform.resources import warehouse_resource
    from analytics_platform.settings import load_settings

    resource = warehouse_resource(load_settings())

    def connect() -> Iterator[Any]:
        return resource.get_connection()

    return connect  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> None:
    """Serve the receiver (settings from the environment)."""
    import uvicorn

    from analytics_platform.ingest.fivetran import ConfigurableFivetranWorkspace
    from analytics_platform.settings import load_settings, require

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", type=Path, help="watermark file (default under home)")
    parser.add_argument(
        "--quiet", type=float, default=3.0, help="seconds without sync events before reporting"
    )
    parser.add_argument(
        "--sweep", type=float, default=60.0, help="seconds between sweeps of the Fivetran API"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    settings = load_settings()
    workspace = ConfigurableFivetranWorkspace(
        account_id="fieldforce",
        api_key=require("FIVETRAN_API_KEY"),
        api_secret=require("FIVETRAN_API_SECRET"),
        api_base_url=settings.fivetran_api_base_url,
    )
    dialect: Dialect = "snowflake" if settings.warehouse_type == "snowflake" else "duckdb"
    state = args.state or settings.home / "webhook_state.json"
    observer = SyncObserver(
        lambda: with_platform_tables(fetch_tables_by_connector(workspace.get_client())),
        _warehouse_connections(),
        state,
        dialect,
        connector_details=lambda cid: workspace.get_client().get_connector_details(cid),
    )
    dagster_url = settings.dagster_ui_url
    debouncer = Debouncer(lambda event: report(dagster_url, event), quiet_s=args.quiet).start()
    app = create_app(
        require("FIVETRAN_WEBHOOK_SECRET"),
        observer,
        lambda event: report(dagster_url, event),
        debouncer,
    )
    threading.Thread(
        target=_sweep,
        args=(observer, workspace, debouncer, args.sweep),
        name="fivetran-sweep",
        daemon=True,
    ).start()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


def _sweep(observer: SyncObserver, workspace: Any, debouncer: Debouncer, interval_s: float) -> None:
    """Report syncs the webhooks missed: at start-up, then every ``interval_s``."""
    while True:
        try:
            events = observer.reconcile(workspace.get_client().get_connector_details)
            if events:
                log.info("sweep found %d unreported sync event(s)", len(events))
            debouncer.add(None, events)
        except Exception:
            log.exception("sweep of the Fivetran API failed; will retry")
        time.sleep(interval_s)


if __name__ == "__main__":
    main()
