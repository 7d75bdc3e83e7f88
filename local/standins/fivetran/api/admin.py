"""`/admin`: not Fivetran. Faults, drift, sync history, waiting for idle, the rate limit.

Tests, benchmarks and the launcher drive the service through these; they take the API's
credentials but are not rate limited, so a test can always inspect a throttled service.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.responses import JSONResponse

from standins.fivetran.api.deps import (
    ConnectorId,
    Context,
    JsonObject,
    get_and_head,
    json_body_doc,
    validated,
)
from standins.fivetran.api.errors import ApiError, invalid_input
from standins.fivetran.api.models import (
    AdminSyncRequest,
    DriftSpec,
    FaultSpec,
    RateLimitRequest,
    WaitIdleRequest,
)
from standins.fivetran.service import FivetranService
from standins.fivetran.webhooks import iso_now

router = APIRouter(prefix="/admin", tags=["admin (not Fivetran)"])


async def wait_idle(service: FivetranService, timeout: float) -> bool:
    """Whether the service went idle within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.idle():
            return True
        await asyncio.sleep(0.05)
    return service.idle()


@get_and_head(router, "/status")
async def status(ctx: Context) -> JSONResponse:
    """Idle or not, what runs and waits, every connector's state and faults, the rate limit."""
    service = ctx.service
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
                "max_per_second": ctx.limiter.max_per_second,
                "retry_after": ctx.limiter.retry_after,
            },
        }
    )


@get_and_head(router, "/syncs")
async def sync_history(
    ctx: Context,
    connector_id: Annotated[str | None, Query(description="only this connector's syncs")] = None,
    limit: Annotated[str, Query(description="the newest this many")] = "100",
) -> JSONResponse:
    """Sync history, oldest first."""
    items = [
        h for h in ctx.service.history if connector_id is None or h["connector_id"] == connector_id
    ]
    return JSONResponse({"items": items[-int(limit) :]})


@router.post("/syncs", openapi_extra=json_body_doc(AdminSyncRequest, required=False))
async def trigger_syncs(
    ctx: Context,
    body: Annotated[AdminSyncRequest, Depends(validated(AdminSyncRequest, required=False))],
) -> JSONResponse:
    """Queue syncs of any schedule type; with `wait`, return once idle with the new syncs."""
    service = ctx.service
    ids = body.connector_ids or list(service.account.connectors)
    unknown = [c for c in ids if c not in service.account.connectors]
    if unknown:
        raise ApiError(404, "NotFound_Connection", f"unknown connectors {unknown}")
    before = len(service.history)
    outcomes = {
        c: service.request_sync(c, resync=body.resync, reason="admin")
        for c in ids
        if service.source_configured(service.connector(c))
    }
    result: dict[str, Any] = {"requested": outcomes}
    if body.wait:
        result["idle"] = await wait_idle(service, body.timeout)
        result["syncs"] = service.history[before:]
    return JSONResponse(result)


@router.post("/wait-idle", openapi_extra=json_body_doc(WaitIdleRequest, required=False))
async def wait_for_idle(
    ctx: Context,
    body: Annotated[WaitIdleRequest, Depends(validated(WaitIdleRequest, required=False))],
) -> JSONResponse:
    """200 once nothing runs, is queued, due, rescheduled or being delivered; 504 otherwise."""
    idle = await wait_idle(ctx.service, body.timeout)
    return JSONResponse({"idle": idle}, status_code=200 if idle else 504)


@get_and_head(router, "/faults/{connector_id}")
async def show_faults(ctx: Context, connector_id: ConnectorId) -> JSONResponse:
    """The connector's armed faults."""
    return JSONResponse({"faults": ctx.service.fault_view(connector_id)})


@router.post("/faults/{connector_id}", openapi_extra=json_body_doc(FaultSpec))
async def arm_fault(ctx: Context, connector_id: ConnectorId, body: JsonObject) -> JSONResponse:
    """Arm a fault for the connector's next sync(s)."""
    try:
        return JSONResponse({"faults": ctx.service.arm_fault(connector_id, body)})
    except ValueError as exc:
        raise invalid_input(str(exc)) from None


@router.delete("/faults/{connector_id}")
async def clear_faults(ctx: Context, connector_id: ConnectorId) -> JSONResponse:
    """Disarm every fault of the connector."""
    ctx.service.clear_faults(connector_id)
    return JSONResponse({"faults": ctx.service.fault_view(connector_id)})


@router.post("/drift/{connector_id}", openapi_extra=json_body_doc(DriftSpec))
async def drift(ctx: Context, connector_id: ConnectorId, body: JsonObject) -> JSONResponse:
    """Alter the connector's PostgreSQL source table the way a source team would."""
    try:
        return JSONResponse(await asyncio.to_thread(ctx.service.drift, connector_id, body))
    except (ValueError, KeyError) as exc:
        raise invalid_input(str(exc)) from None


@router.post("/rate-limit", openapi_extra=json_body_doc(RateLimitRequest))
async def set_rate_limit(
    ctx: Context, body: Annotated[RateLimitRequest, Depends(validated(RateLimitRequest))]
) -> JSONResponse:
    """Answer `/v1` with 429 and `Retry-After` above `max_per_second` requests per second."""
    limiter = ctx.limiter
    limiter.max_per_second = body.max_per_second
    limiter.retry_after = body.retry_after
    return JSONResponse(
        {"max_per_second": limiter.max_per_second, "retry_after": limiter.retry_after}
    )


@get_and_head(router, "/webhook-deliveries")
async def webhook_deliveries(ctx: Context) -> JSONResponse:
    """Every webhook delivery attempt."""
    return JSONResponse({"items": list(ctx.service.hub.deliveries)})


@get_and_head(router, "/now")
async def now(ctx: Context) -> JSONResponse:
    """Wall-clock UTC and the service clock."""
    return JSONResponse({"now": iso_now(), "service_clock": ctx.service.service_now()})
