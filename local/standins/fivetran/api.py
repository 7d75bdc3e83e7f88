"""Fivetran REST API v1 (the part our platform and dagster-fivetran use) plus a local admin API.

Fivetran's conventions are kept: HTTP Basic auth with API key and secret, every answer in a
`{"code": "Success", "data": ...}` envelope, lists as `{"items": [...], "next_cursor": ...}`
paged by `limit` (default 100, max 1000) and an opaque `cursor`, 404 for unknown ids, 400 with
a message for a malformed body, 429 with `Retry-After` above the configured request rate.
Connectors answer on both `/v1/connectors/...` and `/v1/connections/...`.

`/admin/...` is not Fivetran: faults, drift, sync history and waiting for idle, for tests,
benchmarks and the launcher. It takes the same credentials.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from standins.fivetran.config import ALLOWED_SYNC_FREQUENCIES
from standins.fivetran.service import FivetranService
from standins.fivetran.webhooks import EVENTS, iso_now
from standins.sources import catalog

Handler = Callable[[Request], Awaitable[Response]]


class ApiError(Exception):
    """An error answered in Fivetran's shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        """Keep the HTTP status, Fivetran's error code and the message."""
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def ok(data: Any = None, message: str | None = None) -> JSONResponse:
    """Fivetran's success envelope."""
    body: dict[str, Any] = {"code": "Success"}
    if message:
        body["message"] = message
    if data is not None:
        body["data"] = data
    return JSONResponse(body)


def paginate(request: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
    """One page of `items` per Fivetran's cursor pagination."""
    raw_limit = request.query_params.get("limit", "100")
    try:
        limit = int(raw_limit)
    except ValueError:
        raise ApiError(
            400, "InvalidInput", f"limit must be an integer, got {raw_limit!r}"
        ) from None
    if not 1 <= limit <= 1000:
        raise ApiError(400, "InvalidInput", "limit must be between 1 and 1000")
    cursor = request.query_params.get("cursor")
    offset = 0
    if cursor:
        try:
            offset = int(base64.urlsafe_b64decode(cursor.encode()).decode())
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise ApiError(400, "InvalidInput", f"invalid cursor {cursor!r}") from None
    page = items[offset : offset + limit]
    data: dict[str, Any] = {"items": page}
    if offset + limit < len(items):
        data["next_cursor"] = base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
    return data


async def json_body(request: Request, required: bool = True) -> dict[str, Any]:
    """The request's JSON object (400 when it is not one)."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise ApiError(400, "InvalidInput", "request body must be a JSON object")
        return {}
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "InvalidInput", f"malformed JSON body: {exc.msg}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "InvalidInput", "request body must be a JSON object")
    return body


class RateLimiter:
    """A one-second sliding window over API requests (off unless configured)."""

    def __init__(self) -> None:
        """Start disabled."""
        self.max_per_second: float | None = None
        self.retry_after = 1
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def allow(self) -> bool:
        """Record a request; False when it exceeds the rate."""
        if self.max_per_second is None:
            return True
        now = time.monotonic()
        with self._lock:
            while self._hits and self._hits[0] < now - 1.0:
                self._hits.popleft()
            if len(self._hits) >= self.max_per_second:
                return False
            self._hits.append(now)
            return True


def build_app(service: FivetranService, api_key: str, api_secret: str) -> Starlette:
    """The ASGI app over a running service."""
    limiter = RateLimiter()
    group = service.account.group

    def authorized(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == api_key and password == api_secret

    def endpoint(handler: Handler, admin: bool = False) -> Handler:
        async def wrapped(request: Request) -> Response:
            if not authorized(request):
                return JSONResponse(
                    {"code": "AuthFailed", "message": "Missing or invalid API key/secret"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Basic realm="fivetran"'},
                )
            if not admin and not limiter.allow():
                return JSONResponse(
                    {"code": "TooManyRequests", "message": "API rate limit exceeded"},
                    status_code=429,
                    headers={"Retry-After": str(limiter.retry_after)},
                )
            try:
                return await handler(request)
            except ApiError as exc:
                return JSONResponse(
                    {"code": exc.code, "message": exc.message}, status_code=exc.status
                )

        return wrapped

    # -------------------------------------------------------------- views

    def connector_view(cid: str) -> dict[str, Any]:
        conn = service.connector(cid)
        runtime = service.runtime[cid]
        connected = service.source_configured(conn)
        status: dict[str, Any] = {
            "setup_state": "connected" if connected else "incomplete",
            "schema_status": "ready",
            "sync_state": service.sync_state(cid),
            "update_state": "delayed" if runtime.get("failures_in_a_row") else "on_schedule",
            "is_historical_sync": bool(runtime.get("is_historical_sync")),
            "tasks": (
                [{"code": "sync_failed", "message": runtime["last_error"]}]
                if runtime.get("last_error")
                else []
            ),
            "warnings": [],
        }
        if runtime.get("rescheduled_for"):
            status["rescheduled_for"] = runtime["rescheduled_for"]
        config: dict[str, Any] = {"source_schema": conn.catalog_system.schema}
        if conn.tenant:
            config["database"] = f"jobs_{conn.tenant}"
            config["update_method"] = "QUERY_BASED"
        return {
            "id": cid,
            "group_id": group.id,
            "service": conn.service,
            "service_version": 1,
            "schema": conn.schema,
            "connected_by": "local_admin",
            "created_at": runtime["created_at"],
            "succeeded_at": runtime.get("succeeded_at"),
            "failed_at": runtime.get("failed_at"),
            "paused": runtime["paused"],
            "pause_after_trial": False,
            "sync_frequency": runtime["sync_frequency"],
            "schedule_type": runtime["schedule_type"],
            "daily_sync_time": runtime.get("daily_sync_time", "00:00"),
            "data_delay_sensitivity": "NORMAL",
            "status": status,
            "config": config,
        }

    def schema_config(cid: str) -> dict[str, Any]:
        conn = service.connector(cid)
        discovered = service.runtime[cid].get("discovered", {})
        tables: dict[str, Any] = {}
        for name, cfg in conn.tables.items():
            known = conn.catalog_system.table(name)
            found = discovered.get(name)
            cols = (
                found
                if found
                else [
                    [
                        c.name,
                        catalog.destination_name(c.name),
                        c.name in cfg.hashed,
                        c.name in known.primary_key,
                    ]
                    for c in known.columns
                ]
            )
            tables[name] = table_view(name, cfg.enabled, cols)
        for name, cols in discovered.items():
            if name not in tables:
                tables[name] = table_view(name, True, cols)
        return {
            "enable_new_by_default": conn.schema_change_handling == "ALLOW_ALL",
            "schema_change_handling": conn.schema_change_handling,
            "schemas": {
                conn.catalog_system.schema: {
                    "name_in_destination": conn.schema,
                    "enabled": True,
                    "tables": tables,
                }
            },
        }

    def table_view(name: str, enabled: bool, cols: list[list[Any]]) -> dict[str, Any]:
        return {
            "name_in_destination": catalog.destination_name(name),
            "enabled": enabled,
            "sync_mode": "SOFT_DELETE",
            "supports_columns_config": True,
            "enabled_patch_settings": {"allowed": True},
            "columns": {
                src: {
                    "name_in_destination": dest,
                    "enabled": True,
                    "hashed": bool(hashed),
                    "is_primary_key": bool(pk),
                    "enabled_patch_settings": {"allowed": not pk},
                }
                for src, dest, hashed, pk in cols
            },
        }

    def known_connector(request: Request) -> str:
        cid = request.path_params["connector_id"]
        if cid not in service.account.connectors:
            raise ApiError(404, "NotFound_Connection", f"Connection with id '{cid}' doesn't exist")
        return cid

    def known_group(request: Request) -> None:
        gid = request.path_params["group_id"]
        if gid != group.id:
            raise ApiError(404, "NotFound_Group", f"Group with id '{gid}' doesn't exist")

    # -------------------------------------------------------------- groups & destinations

    def group_view() -> dict[str, Any]:
        return {"id": group.id, "name": group.name, "created_at": "2024-01-01T00:00:00.000Z"}

    async def list_groups(request: Request) -> Response:
        return ok(paginate(request, [group_view()]))

    async def get_group(request: Request) -> Response:
        known_group(request)
        return ok(group_view())

    async def group_connectors(request: Request) -> Response:
        known_group(request)
        return ok(paginate(request, [connector_view(c) for c in service.account.connectors]))

    async def list_connectors(request: Request) -> Response:
        wanted = request.query_params.get("group_id")
        items = (
            []
            if wanted and wanted != group.id
            else [connector_view(c) for c in service.account.connectors]
        )
        return ok(paginate(request, items))

    async def get_destination(request: Request) -> Response:
        did = request.path_params["destination_id"]
        if did != group.id:
            raise ApiError(
                404, "NotFound_Destination", f"Destination with id '{did}' doesn't exist"
            )
        dest = group.destination
        return ok(
            {
                "id": group.id,
                "group_id": group.id,
                "service": dest.get("service", "duckdb"),
                "region": dest.get("region", "LOCAL"),
                "time_zone_offset": dest.get("time_zone_offset", "0"),
                "setup_status": "connected",
                "config": {"database": dest.get("database", "warehouse")},
            }
        )

    # -------------------------------------------------------------- connectors

    async def get_connector(request: Request) -> Response:
        return ok(connector_view(known_connector(request)))

    async def patch_connector(request: Request) -> Response:
        cid = known_connector(request)
        body = await json_body(request)
        updates: dict[str, Any] = {}
        if "schedule_type" in body:
            if body["schedule_type"] not in ("auto", "manual"):
                raise ApiError(400, "InvalidInput", "schedule_type must be 'auto' or 'manual'")
            updates["schedule_type"] = body["schedule_type"]
        if "paused" in body:
            if not isinstance(body["paused"], bool):
                raise ApiError(400, "InvalidInput", "paused must be a boolean")
            updates["paused"] = body["paused"]
        if "sync_frequency" in body:
            if body["sync_frequency"] not in ALLOWED_SYNC_FREQUENCIES:
                raise ApiError(
                    400,
                    "InvalidInput",
                    f"sync_frequency must be one of {list(ALLOWED_SYNC_FREQUENCIES)}",
                )
            updates["sync_frequency"] = body["sync_frequency"]
        if "daily_sync_time" in body:
            value = body["daily_sync_time"]
            if not (
                isinstance(value, str)
                and len(value) == 5
                and value.endswith(":00")
                and 0 <= int(value[:2]) <= 23
            ):
                raise ApiError(400, "InvalidInput", "daily_sync_time must look like 'HH:00'")
            updates["daily_sync_time"] = value
        service.update_runtime(cid, updates)
        return ok(connector_view(cid), message="Connection has been updated")

    async def force_sync(request: Request) -> Response:
        cid = known_connector(request)
        check_syncable(cid)
        outcome = service.request_sync(cid, reason="force")
        return ok(message=f"Sync has been triggered ({outcome})")

    async def sync_connector(request: Request) -> Response:
        cid = known_connector(request)
        await json_body(request, required=False)
        check_syncable(cid)
        outcome = service.request_sync(cid, reason="api_sync")
        return ok(message=f"Sync has been triggered ({outcome})")

    async def resync_connector(request: Request) -> Response:
        cid = known_connector(request)
        body = await json_body(request, required=False)
        check_syncable(cid)
        tables = None
        if body.get("scope"):
            tables = tables_from_scope(cid, body["scope"])
        service.request_sync(cid, resync=True, tables=tables, reason="resync")
        return ok(message="Re-sync has been triggered")

    async def resync_tables(request: Request) -> Response:
        cid = known_connector(request)
        body = await json_body(request)
        check_syncable(cid)
        service.request_sync(
            cid, resync=True, tables=tables_from_scope(cid, body), reason="table_resync"
        )
        return ok(message="Re-sync has been triggered")

    def tables_from_scope(cid: str, scope: Any) -> set[str]:
        conn = service.connector(cid)
        if not isinstance(scope, dict) or not all(isinstance(v, list) for v in scope.values()):
            raise ApiError(400, "InvalidInput", 'scope must look like {"schema": ["table", ...]}')
        tables: set[str] = set()
        for schema_name, names in scope.items():
            if schema_name != conn.catalog_system.schema:
                raise ApiError(400, "InvalidInput", f"unknown schema {schema_name!r} for {cid}")
            tables.update(catalog.destination_name(n) for n in names)
        return tables

    def check_syncable(cid: str) -> None:
        runtime = service.runtime[cid]
        if runtime["paused"]:
            raise ApiError(400, "InvalidState", f"Connection '{cid}' is paused")
        if not service.source_configured(service.connector(cid)):
            raise ApiError(400, "InvalidState", f"Connection '{cid}' setup is incomplete")

    async def get_schemas(request: Request) -> Response:
        return ok(schema_config(known_connector(request)))

    async def get_columns(request: Request) -> Response:
        cid = known_connector(request)
        config = schema_config(cid)
        schema = config["schemas"].get(request.path_params["schema"])
        if schema is None:
            raise ApiError(
                404, "NotFound_Schema", f"Schema '{request.path_params['schema']}' doesn't exist"
            )
        table = schema["tables"].get(request.path_params["table"])
        if table is None:
            raise ApiError(
                404, "NotFound_Table", f"Table '{request.path_params['table']}' doesn't exist"
            )
        return ok({"columns": table["columns"]})

    # -------------------------------------------------------------- webhooks

    def validate_webhook(body: dict[str, Any], partial: bool = False) -> None:
        if not partial or "url" in body:
            url = body.get("url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise ApiError(400, "InvalidInput", "url must be an http(s) URL")
        if not partial or "events" in body:
            events = body.get("events")
            if not isinstance(events, list) or not events or not all(e in EVENTS for e in events):
                raise ApiError(
                    400, "InvalidInput", f"events must be a non-empty list of {list(EVENTS)}"
                )
        if "active" in body and not isinstance(body["active"], bool):
            raise ApiError(400, "InvalidInput", "active must be a boolean")
        if body.get("secret") is not None and not isinstance(body["secret"], str):
            raise ApiError(400, "InvalidInput", "secret must be a string")

    def known_webhook(request: Request) -> str:
        wid = request.path_params["webhook_id"]
        if wid not in service.webhook_store:
            raise ApiError(404, "NotFound_Webhook", f"Webhook with id '{wid}' doesn't exist")
        return wid

    async def create_account_webhook(request: Request) -> Response:
        body = await json_body(request)
        validate_webhook(body)
        return ok(
            service.hub.public(service.hub.create("account", None, body)),
            "Account webhook has been created",
        )

    async def create_group_webhook(request: Request) -> Response:
        known_group(request)
        body = await json_body(request)
        validate_webhook(body)
        hook = service.hub.create("group", request.path_params["group_id"], body)
        return ok(service.hub.public(hook), "Group webhook has been created")

    async def list_webhooks(request: Request) -> Response:
        return ok(
            paginate(request, [service.hub.public(w) for w in service.webhook_store.values()])
        )

    async def get_webhook(request: Request) -> Response:
        return ok(service.hub.public(service.webhook_store[known_webhook(request)]))

    async def patch_webhook(request: Request) -> Response:
        wid = known_webhook(request)
        body = await json_body(request)
        validate_webhook(body, partial=True)
        return ok(service.hub.public(service.hub.update(wid, body)), "Webhook has been updated")

    async def delete_webhook(request: Request) -> Response:
        service.hub.delete(known_webhook(request))
        return ok(message="Webhook has been deleted")

    async def test_webhook(request: Request) -> Response:
        wid = known_webhook(request)
        body = await json_body(request, required=False)
        event = body.get("event", "sync_start")
        result = await asyncio.to_thread(service.hub.send_test, service.webhook_store[wid], event)
        return ok(result, "Webhook has been tested")

    # -------------------------------------------------------------- admin (not Fivetran)

    async def admin_status(request: Request) -> Response:
        return JSONResponse(
            {
                "idle": service.idle(),
                "running": service.running,
                "queued": sorted(service.pending),
                "service_clock": service.service_now(),
                "speed": service.speed,
                "warehouse": str(service.warehouse),
                "connectors": {
                    cid: {
                        "sync_state": service.sync_state(cid),
                        "succeeded_at": r.get("succeeded_at"),
                        "failed_at": r.get("failed_at"),
                        "failures_in_a_row": r.get("failures_in_a_row", 0),
                        "last_error": r.get("last_error"),
                        "faults": service.fault_view(cid),
                    }
                    for cid, r in service.runtime.items()
                },
                "rate_limit": {
                    "max_per_second": limiter.max_per_second,
                    "retry_after": limiter.retry_after,
                },
            }
        )

    async def admin_syncs(request: Request) -> Response:
        cid = request.query_params.get("connector_id")
        items = [h for h in service.history if cid is None or h["connector_id"] == cid]
        limit = int(request.query_params.get("limit", "100"))
        return JSONResponse({"items": items[-limit:]})

    async def admin_trigger(request: Request) -> Response:
        body = await json_body(request, required=False)
        ids = body.get("connector_ids") or list(service.account.connectors)
        unknown = [c for c in ids if c not in service.account.connectors]
        if unknown:
            raise ApiError(404, "NotFound_Connection", f"unknown connectors {unknown}")
        before = len(service.history)
        outcomes = {
            c: service.request_sync(c, resync=bool(body.get("resync")), reason="admin")
            for c in ids
            if service.source_configured(service.connector(c))
        }
        result: dict[str, Any] = {"requested": outcomes}
        if body.get("wait", False):
            timeout = float(body.get("timeout", 600))
            idle = await wait_idle(timeout)
            result["idle"] = idle
            result["syncs"] = service.history[before:]
        return JSONResponse(result)

    async def wait_idle(timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if service.idle():
                return True
            await asyncio.sleep(0.05)
        return service.idle()

    async def admin_wait_idle(request: Request) -> Response:
        body = await json_body(request, required=False)
        idle = await wait_idle(float(body.get("timeout", 120)))
        return JSONResponse({"idle": idle}, status_code=200 if idle else 504)

    async def admin_faults(request: Request) -> Response:
        cid = known_connector(request)
        if request.method == "DELETE":
            service.clear_faults(cid)
            return JSONResponse({"faults": service.fault_view(cid)})
        if request.method == "GET":
            return JSONResponse({"faults": service.fault_view(cid)})
        body = await json_body(request)
        try:
            return JSONResponse({"faults": service.arm_fault(cid, body)})
        except ValueError as exc:
            raise ApiError(400, "InvalidInput", str(exc)) from None

    async def admin_drift(request: Request) -> Response:
        cid = known_connector(request)
        body = await json_body(request)
        try:
            return JSONResponse(await asyncio.to_thread(service.drift, cid, body))
        except (ValueError, KeyError) as exc:
            raise ApiError(400, "InvalidInput", str(exc)) from None

    async def admin_rate_limit(request: Request) -> Response:
        body = await json_body(request)
        value = body.get("max_per_second")
        limiter.max_per_second = float(value) if value is not None else None
        limiter.retry_after = int(body.get("retry_after", 1))
        return JSONResponse(
            {"max_per_second": limiter.max_per_second, "retry_after": limiter.retry_after}
        )

    async def admin_deliveries(request: Request) -> Response:
        return JSONResponse({"items": list(service.hub.deliveries)})

    async def admin_now(request: Request) -> Response:
        return JSONResponse({"now": iso_now(), "service_clock": service.service_now()})

    routes: list[Route] = [
        Route("/v1/groups", endpoint(list_groups)),
        Route("/v1/groups/{group_id}", endpoint(get_group)),
        Route("/v1/groups/{group_id}/connectors", endpoint(group_connectors)),
        Route("/v1/groups/{group_id}/connections", endpoint(group_connectors)),
        Route("/v1/destinations/{destination_id}", endpoint(get_destination)),
        Route("/v1/webhooks", endpoint(list_webhooks)),
        Route("/v1/webhooks/account", endpoint(create_account_webhook), methods=["POST"]),
        Route("/v1/webhooks/group/{group_id}", endpoint(create_group_webhook), methods=["POST"]),
        Route("/v1/webhooks/{webhook_id}", endpoint(get_webhook), methods=["GET"]),
        Route("/v1/webhooks/{webhook_id}", endpoint(patch_webhook), methods=["PATCH"]),
        Route("/v1/webhooks/{webhook_id}", endpoint(delete_webhook), methods=["DELETE"]),
        Route("/v1/webhooks/{webhook_id}/test", endpoint(test_webhook), methods=["POST"]),
        Route("/admin/status", endpoint(admin_status, admin=True)),
        Route("/admin/syncs", endpoint(admin_syncs, admin=True), methods=["GET"]),
        Route("/admin/syncs", endpoint(admin_trigger, admin=True), methods=["POST"]),
        Route("/admin/wait-idle", endpoint(admin_wait_idle, admin=True), methods=["POST"]),
        Route(
            "/admin/faults/{connector_id}",
            endpoint(admin_faults, admin=True),
            methods=["GET", "POST", "DELETE"],
        ),
        Route("/admin/drift/{connector_id}", endpoint(admin_drift, admin=True), methods=["POST"]),
        Route("/admin/rate-limit", endpoint(admin_rate_limit, admin=True), methods=["POST"]),
        Route("/admin/webhook-deliveries", endpoint(admin_deliveries, admin=True)),
        Route("/admin/now", endpoint(admin_now, admin=True)),
    ]
    for kind in ("connectors", "connections"):
        base = f"/v1/{kind}"
        routes += [
            Route(base, endpoint(list_connectors)),
            Route(base + "/{connector_id}", endpoint(get_connector), methods=["GET"]),
            Route(base + "/{connector_id}", endpoint(patch_connector), methods=["PATCH"]),
            Route(base + "/{connector_id}/force", endpoint(force_sync), methods=["POST"]),
            Route(base + "/{connector_id}/sync", endpoint(sync_connector), methods=["POST"]),
            Route(base + "/{connector_id}/resync", endpoint(resync_connector), methods=["POST"]),
            Route(base + "/{connector_id}/schemas", endpoint(get_schemas), methods=["GET"]),
            Route(
                base + "/{connector_id}/schemas/tables/resync",
                endpoint(resync_tables),
                methods=["POST"],
            ),
            Route(
                base + "/{connector_id}/schemas/{schema}/tables/{table}/columns",
                endpoint(get_columns),
                methods=["GET"],
            ),
        ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse(
            {"code": "NotFound", "message": f"No such endpoint {request.url.path}"}, status_code=404
        )

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return JSONResponse(
            {"code": "MethodNotAllowed", "message": f"{request.method} not allowed"},
            status_code=405,
        )

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: method_not_allowed})
