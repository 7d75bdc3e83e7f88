"""Sync actions on a connection: force, sync, resync, resync of some tables.

Like the connections router, it is mounted under `/v1/connections` and `/v1/connectors`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import JSONResponse

from standins.fivetran.api.deps import (
    ConnectorId,
    Context,
    JsonObject,
    OptionalJsonObject,
    json_body_doc,
    validated,
)
from standins.fivetran.api.envelope import ok
from standins.fivetran.api.errors import ApiError, invalid_input
from standins.fivetran.api.models import ResyncRequest, TableScope
from standins.fivetran.service import FivetranService
from standins.sources import catalog

router = APIRouter(tags=["sync actions"])


def check_syncable(service: FivetranService, cid: str) -> None:
    """Refuse a sync of a paused connection or one whose source is not set up."""
    if service.runtime[cid]["paused"]:
        raise ApiError(400, "InvalidState", f"Connection '{cid}' is paused")
    if not service.source_configured(service.connector(cid)):
        raise ApiError(400, "InvalidState", f"Connection '{cid}' setup is incomplete")


def tables_from_scope(service: FivetranService, cid: str, scope: Any) -> set[str]:
    """Destination tables named by a `{"<source schema>": ["Table", ...]}` scope."""
    conn = service.connector(cid)
    if not isinstance(scope, dict) or not all(isinstance(v, list) for v in scope.values()):
        raise invalid_input('scope must look like {"schema": ["table", ...]}')
    tables: set[str] = set()
    for schema_name, names in scope.items():
        if schema_name != conn.catalog_system.schema:
            raise invalid_input(f"unknown schema {schema_name!r} for {cid}")
        tables.update(catalog.destination_name(n) for n in names)
    return tables


@router.post("/{connector_id}/force")
async def force_sync(ctx: Context, connector_id: ConnectorId) -> JSONResponse:
    """Start a sync now."""
    check_syncable(ctx.service, connector_id)
    outcome = ctx.service.request_sync(connector_id, reason="force")
    return ok(message=f"Sync has been triggered ({outcome})")


@router.post("/{connector_id}/sync", openapi_extra=json_body_doc(None, required=False))
async def sync_connection(
    ctx: Context, connector_id: ConnectorId, body: OptionalJsonObject
) -> JSONResponse:
    """Start a sync now (the body, if any, must be a JSON object)."""
    check_syncable(ctx.service, connector_id)
    outcome = ctx.service.request_sync(connector_id, reason="api_sync")
    return ok(message=f"Sync has been triggered ({outcome})")


@router.post("/{connector_id}/resync", openapi_extra=json_body_doc(ResyncRequest, required=False))
async def resync_connection(
    ctx: Context,
    connector_id: ConnectorId,
    body: Annotated[ResyncRequest, Depends(validated(ResyncRequest, required=False))],
) -> JSONResponse:
    """Re-read every table from scratch, or only the tables of `scope`."""
    check_syncable(ctx.service, connector_id)
    tables = tables_from_scope(ctx.service, connector_id, body.scope) if body.scope else None
    ctx.service.request_sync(connector_id, resync=True, tables=tables, reason="resync")
    return ok(message="Re-sync has been triggered")


@router.post("/{connector_id}/schemas/tables/resync", openapi_extra=json_body_doc(TableScope))
async def resync_tables(ctx: Context, connector_id: ConnectorId, body: JsonObject) -> JSONResponse:
    """Re-read the tables of the body's scope from scratch."""
    check_syncable(ctx.service, connector_id)
    tables = tables_from_scope(ctx.service, connector_id, body)
    ctx.service.request_sync(connector_id, resync=True, tables=tables, reason="table_resync")
    return ok(message="Re-sync has been triggered")
