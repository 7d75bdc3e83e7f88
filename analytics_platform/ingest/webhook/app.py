"""The receiver's ASGI app: ``POST /webhooks/fivetran`` (signed events) and ``GET /health``.

A request without a valid signature gets 401 and changes nothing; a body that is not a
Fivetran event gets 400; a ``sync_end`` of a connector Fivetran does not know gets 404.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from analytics_platform.ingest.webhook.debounce import Debouncer
from analytics_platform.ingest.webhook.observer import Event, SyncObserver
from analytics_platform.ingest.webhook.signing import SIGNATURE_HEADER, verify

log = logging.getLogger("fieldforce.webhook")


def create_app(
    secret: str,
    observer: SyncObserver,
    reporter: Callable[[Event], None],
    debouncer: Debouncer | None = None,
    lifespan: Callable[[Any], AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    """The receiver's ASGI app; with a ``debouncer`` reports are released by it, not inline.

    Args:
        secret: the webhook secret the signatures are checked against.
        observer: measures what each ``sync_end`` changed.
        reporter: delivers one event to Dagster (used when there is no ``debouncer``).
        debouncer: holds and batches the events before delivery.
        lifespan: runs around serving (the webhook registration, :mod:`.registration`).

    Raises:
        ValueError: the secret is empty (every request would be accepted or none).
    """
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
        ],
        lifespan=lifespan,
    )
