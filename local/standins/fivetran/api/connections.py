"""`/v1/connections` (also `/v1/connectors`): connections, their settings and schema configs.

The same router is mounted under both prefixes, because Fivetran answers on both and
dagster-fivetran uses either. Schema-config changes are checked whole before any is recorded,
so a refused request changes nothing: an unknown schema, table or column answers 404, a
table-level change to a system table 409 `IllegalState` ("Cannot modify read-only table
<schema>.<table> config", Fivetran's words), and blocking a primary-key column 409 too.
"""

from __future__ import annotations

from typing import Annotated, Any

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
from standins.fivetran.api.models import (
    ColumnConfigUpdate,
    ConnectorUpdate,
    SchemaConfigUpdate,
    TableConfigUpdate,
)
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
    found_table = _table_view(schema_config(ctx.service, connector_id), schema, table)
    return ok({"columns": found_table["columns"]})


TableChanges = dict[str, tuple[bool | None, dict[str, dict[str, bool]]]]


def _table_view(config: dict[str, Any], schema: str, table: str) -> dict[str, Any]:
    """The table of a schema config view (404 in Fivetran's words when unknown)."""
    found_schema = config["schemas"].get(schema)
    if found_schema is None:
        raise ApiError(404, "NotFound_Schema", f"Schema '{schema}' doesn't exist")
    found_table = found_schema["tables"].get(table)
    if found_table is None:
        raise ApiError(404, "NotFound_Table", f"Table '{table}' doesn't exist")
    return dict(found_table)


def _check_table(
    config: dict[str, Any], schema: str, table: str, update: TableConfigUpdate
) -> tuple[bool | None, dict[str, dict[str, bool]]]:
    """Validate one table's change against the schema config; the change to record."""
    view = _table_view(config, schema, table)
    if update.touches_table() and not view["enabled_patch_settings"]["allowed"]:
        raise ApiError(
            409, "IllegalState", f"Cannot modify read-only table {schema}.{table} config"
        )
    columns: dict[str, dict[str, bool]] = {}
    for column, change in update.columns.items():
        columns[column] = _check_column(view, schema, table, column, change)
    return update.enabled, columns


def _check_column(
    view: dict[str, Any], schema: str, table: str, column: str, change: ColumnConfigUpdate
) -> dict[str, bool]:
    found = view["columns"].get(column)
    if found is None:
        raise ApiError(404, "NotFound_Column", f"Column '{column}' doesn't exist")
    values = change.changes()
    if values.get("enabled") is False and not found["enabled_patch_settings"]["allowed"]:
        raise ApiError(
            409,
            "IllegalState",
            f"Cannot modify read-only column {schema}.{table}.{column} config",
        )
    return values


@router.patch("/{connector_id}/schemas", openapi_extra=json_body_doc(SchemaConfigUpdate))
async def update_schema_config(
    ctx: Context,
    connector_id: ConnectorId,
    update: Annotated[SchemaConfigUpdate, Depends(validated(SchemaConfigUpdate))],
) -> JSONResponse:
    """Change schema-change handling, and any table or column below (Fivetran's whole-tree PATCH)."""
    config = schema_config(ctx.service, connector_id)
    tables: TableChanges = {}
    for schema, schema_update in update.schemas.items():
        if schema not in config["schemas"]:
            raise ApiError(404, "NotFound_Schema", f"Schema '{schema}' doesn't exist")
        if schema_update.enabled is False:
            raise ApiError(409, "IllegalState", f"Cannot modify read-only schema {schema} config")
        for table, table_update in schema_update.tables.items():
            tables[table] = _check_table(config, schema, table, table_update)
    ctx.service.configure_schema(connector_id, update.schema_change_handling, tables)
    return ok(schema_config(ctx.service, connector_id), message="Schema config has been updated")


@router.patch(
    "/{connector_id}/schemas/{schema}/tables/{table}",
    openapi_extra=json_body_doc(TableConfigUpdate),
)
async def update_table_config(
    ctx: Context,
    connector_id: ConnectorId,
    schema: str,
    table: str,
    update: Annotated[TableConfigUpdate, Depends(validated(TableConfigUpdate))],
) -> JSONResponse:
    """Enable or exclude a table (refused for a system table), and change its columns."""
    change = _check_table(schema_config(ctx.service, connector_id), schema, table, update)
    ctx.service.configure_schema(connector_id, tables={table: change})
    return ok(schema_config(ctx.service, connector_id), message="Table config has been updated")


@router.patch(
    "/{connector_id}/schemas/{schema}/tables/{table}/columns/{column}",
    openapi_extra=json_body_doc(ColumnConfigUpdate),
)
async def update_column_config(
    ctx: Context,
    connector_id: ConnectorId,
    schema: str,
    table: str,
    column: str,
    update: Annotated[ColumnConfigUpdate, Depends(validated(ColumnConfigUpdate))],
) -> JSONResponse:
    """Block or unblock, hash or unhash one column (a core table's columns included)."""
    view = _table_view(schema_config(ctx.service, connector_id), schema, table)
    values = _check_column(view, schema, table, column, update)
    ctx.service.configure_schema(connector_id, tables={table: (None, {column: values})})
    return ok(schema_config(ctx.service, connector_id), message="Column config has been updated")
