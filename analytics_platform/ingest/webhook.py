"""The Fivetran webhook receiver: ``sync_end`` in, materializations of changed tables out.

Fivetran POSTs each event with ``X-Fivetran-Signature-256``, the HMAC-SHA256 of the raw body
under the webhook's secret (hex). A request without a valid signature gets 401 and changes
nothing. On a verified ``sync_end`` the receiver measures what the sync changed in the
destination and reports those tables to the Dagster webserver's REST endpoint
(``/report_asset_materialization/<key>``); the automation sensor then rebuilds what is
downstream, within seconds. A failed sync is reported as an observation (visible in the UI),
never as a materialization, so nothing downstream runs.

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
from collections.abc import Callable, Iterator
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
from analytics_platform.ingest.observe import fetch_tables_by_connector, observe_connector

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
    ) -> None:
        """Tables are fetched lazily (and again for an unknown connector)."""
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
        details = {"failed_at": created} if status != "SUCCESSFUL" else {"succeeded_at": created}
        if status != "SUCCESSFUL":
            details["status"] = {"tasks": (payload.get("data") or {}).get("reason", status)}
        with self._lock, self._connect() as connection:
            events = observe_connector(
                connection, connector_id, details, tables, self._state, self._dialect
            )
            tmp = self._state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._state, sort_keys=True))
            tmp.replace(self._state_path)
        return events


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
) -> Starlette:
    """The receiver's ASGI app."""
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
        if event != "sync_end":
            return JSONResponse({"event": event, "reported": []})
        try:
            events = await run_in_threadpool(observer.on_sync_end, payload)
        except LookupError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
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
        lambda: fetch_tables_by_connector(workspace.get_client()),
        _warehouse_connections(),
        state,
        dialect,
    )
    dagster_url = settings.dagster_ui_url
    app = create_app(
        require("FIVETRAN_WEBHOOK_SECRET"), observer, lambda event: report(dagster_url, event)
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
