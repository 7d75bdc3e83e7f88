"""`/v1/connections` (also `/v1/connectors`): connections, their settings and schema configs.

The same router is mounted under both prefixes, because Fivetran answers on both and
dagster-fivetran uses either.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import JSONResponse

from standins.fivetran.api.deps import (
    ConnectorId,
    Context,
    Paged,
    get_and_head,
    json_body_doc,
    validated,
)
from standins.fivetran.api.envelope import ok
from standins.fivetran.api.errors import ApiError
from standins.fivetran.api.models import ConnectorUpdate
from standins.fivetran.api.views import connector_view, schema_config

router = APIRouter(tags=["connections"])


@get_and_head(router, "")
async def list_connections(
    ctx: Context,
    paged: Paged,
    group_id: Annotated[str | None, Query(description="only this group's connections")] = None,
) -> JSONResponse:
    """Every connection of the account (or of `group_id`)."""
    service = ctx.service
    items = (
        []
        if group_id and group_id != service.account.group.id
        else [connector_view(service, c) for c in service.account.connectors]
    )
    return ok(paged.of(items))


@get_and_head(router, "/{connector_id}")
async def get_connection(ctx: Context, connector_id: ConnectorId) -> JSONResponse:
    """One connection with its live status."""
    return ok(connector_view(ctx.service, connector_id))


@router.patch("/{connector_id}", openapi_extra=json_body_doc(ConnectorUpdate))
async def update_connection(
    ctx: Context,
    connector_id: ConnectorId,
    update: Annotated[ConnectorUpdate, Depends(validated(ConnectorUpdate))],
) -> JSONResponse:
    """Change the schedule (schedule_type, paused, sync_frequency, daily_sync_time)."""
    ctx.service.update_runtime(connector_id, update.model_dump(exclude_unset=True))
    return ok(connector_view(ctx.service, connector_id), message="Connection has been updated")


@get_and_head(router, "/{connector_id}/schemas")
async def get_schemas(ctx: Context, connector_id: ConnectorId) -> JSONResponse:
    """The connection's schema config."""
    return ok(schema_config(ctx.service, connector_id))


@get_and_head(router, "/{connector_id}/schemas/{schema}/tables/{table}/columns")
async def get_columns(
    ctx: Context, connector_id: ConnectorId, schema: str, table: str
) -> JSONResponse:
    """The column config of one table."""
    config = schema_config(ctx.service, connector_id)
    found_schema = config["schemas"].get(schema)
    if found_schema is None:
        raise ApiError(404, "NotFound_Schema", f"Schema '{schema}' doesn't exist")
    found_table = found_schema["tables"].get(table)
    if found_table is None:
        raise ApiError(404, "NotFound_Table", f"Table '{table}' doesn't exist")
    return ok({"columns": found_table["columns"]})
