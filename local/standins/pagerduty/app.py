"""A PagerDuty Events API v2 stand-in on 127.0.0.1: ``POST /v2/enqueue``.

Answers as the Events API does: 202 ``{"status": "success", "message": "Event processed",
"dedup_key": …}`` for an accepted event, 400 ``{"status": "invalid event", "message": "Event
object is invalid", "errors": [...]}`` for an invalid one. Test-only routes start with an
underscore: ``GET /_recorded`` (events and incidents as JSON), ``POST /_reset``, and
``POST /_inject`` (answer the next N enqueues with 429 or a 5xx, to exercise the client's
retries). ``GET /`` shows incidents and events.
"""

from __future__ import annotations

import html
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from standins.pagerduty.service import Service

MAX_BODY_BYTES = 512 * 1024


@dataclass
class Faults:
    """Injected failures: the next ``count`` enqueues answer ``status`` instead of 202."""

    status: int = 0
    count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def arm(self, status: int, count: int) -> None:
        """Fail the next ``count`` enqueues with HTTP ``status``."""
        with self._lock:
            self.status, self.count = status, count

    def take(self) -> int | None:
        """Consume one injected failure; returns its status, or None when none is pending."""
        with self._lock:
            if self.count <= 0:
                return None
            self.count -= 1
            return self.status


def _invalid(errors: list[str]) -> JSONResponse:
    return JSONResponse(
        {"status": "invalid event", "message": "Event object is invalid", "errors": errors},
        status_code=400,
    )


def create_app(service: Service) -> Starlette:
    """The Starlette app serving ``service``."""
    faults = Faults()

    async def enqueue(request: Request) -> Response:
        status = faults.take()
        if status == 429:
            return JSONResponse(
                {"status": "throttle event", "message": "Too many requests, retry later"},
                status_code=429,
            )
        if status is not None:
            return JSONResponse({"status": "error", "message": "Internal error"}, status)
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return JSONResponse(
                {"status": "invalid event", "message": "Request entity too large"}, 413
            )
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _invalid(["Event body is not valid JSON"])
        dedup_key, errors = service.receive(body)
        if errors:
            return _invalid(errors)
        return JSONResponse(
            {"status": "success", "message": "Event processed", "dedup_key": dedup_key},
            status_code=202,
        )

    async def recorded(request: Request) -> Response:
        return JSONResponse(service.snapshot())

    async def reset(request: Request) -> Response:
        service.reset()
        faults.arm(0, 0)
        return JSONResponse({"ok": True})

    async def inject(request: Request) -> Response:
        body = await request.json()
        faults.arm(int(body["status"]), int(body.get("count", 1)))
        return JSONResponse({"ok": True})

    async def index(request: Request) -> Response:
        snapshot = service.snapshot()
        return HTMLResponse(render_page(snapshot["incidents"], snapshot["events"]))

    return Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/_recorded", recorded, methods=["GET"]),
            Route("/_reset", reset, methods=["POST"]),
            Route("/_inject", inject, methods=["POST"]),
            Route("/v2/enqueue", enqueue, methods=["POST"]),
        ]
    )


def _when(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render_page(incidents: list[dict[str, Any]], events: list[dict[str, Any]]) -> str:
    """A small self-refreshing HTML page: incidents (newest first), then events."""
    incident_rows = [
        "<tr>"
        f"<td>{html.escape(incident['id'])}</td>"
        f"<td class='{html.escape(incident['status'])}'>{html.escape(incident['status'])}</td>"
        f"<td>{html.escape(incident['severity'])}</td>"
        f"<td>{html.escape(incident['title'])}</td>"
        f"<td><code>{html.escape(incident['dedup_key'])}</code></td>"
        f"<td>{incident['event_count']}</td>"
        f"<td>{_when(incident['created_at'])}</td>"
        f"<td>{_when(incident['resolved_at'])}</td>"
        "</tr>"
        for incident in reversed(incidents)
    ]
    event_rows = [
        "<tr>"
        f"<td>{_when(record['received_at'])}</td>"
        f"<td>{html.escape(str(record['event'].get('event_action', '')))}</td>"
        f"<td>{html.escape(record['outcome'])}</td>"
        f"<td><pre>{html.escape(json.dumps(record['event'], indent=2, default=str))}</pre></td>"
        "</tr>"
        for record in reversed(events)
    ]
    none = "<tr><td colspan='8'>None yet.</td></tr>"
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta http-equiv='refresh' content='5'><title>PagerDuty stand-in</title>"
        "<style>body{font-family:sans-serif;margin:2em}td{vertical-align:top;padding:4px 8px;"
        "border-bottom:1px solid #ddd}pre{white-space:pre-wrap;margin:0}"
        ".triggered{color:#b00}.acknowledged{color:#b60}.resolved{color:#070}</style>"
        "</head><body><h1>PagerDuty stand-in</h1>"
        f"<h2>Incidents ({len(incidents)})</h2><table><tr><th>id</th><th>status</th>"
        "<th>severity</th><th>title</th><th>dedup_key</th><th>events</th><th>opened</th>"
        f"<th>resolved</th></tr>{''.join(incident_rows) or none}</table>"
        f"<h2>Events ({len(events)})</h2><table><tr><th>received</th><th>action</th>"
        f"<th>outcome</th><th>event</th></tr>{''.join(event_rows) or none}</table>"
        "</body></html>"
    )
