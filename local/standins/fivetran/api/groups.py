"""`/v1/groups` and `/v1/destinations`: the account's one group and its warehouse."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import JSONResponse

from standins.fivetran.api.deps import Context, GroupId, Paged, get_and_head
from standins.fivetran.api.envelope import ok
from standins.fivetran.api.errors import ApiError
from standins.fivetran.api.views import connector_view, destination_view, group_view

router = APIRouter(tags=["groups & destinations"])


@get_and_head(router, "/v1/groups")
async def list_groups(ctx: Context, paged: Paged) -> JSONResponse:
    """List groups (there is one)."""
    return ok(paged.of([group_view(ctx.service)]))


@get_and_head(router, "/v1/groups/{group_id}")
async def get_group(ctx: Context, group_id: GroupId) -> JSONResponse:
    """The group."""
    return ok(group_view(ctx.service))


async def _group_connections(ctx: Context, group_id: GroupId, paged: Paged) -> JSONResponse:
    """The group's connections."""
    service = ctx.service
    return ok(paged.of([connector_view(service, c) for c in service.account.connectors]))


get_and_head(router, "/v1/groups/{group_id}/connectors", name="group_connectors")(
    _group_connections
)
get_and_head(router, "/v1/groups/{group_id}/connections", name="group_connections")(
    _group_connections
)


@get_and_head(router, "/v1/destinations/{destination_id}")
async def get_destination(ctx: Context, destination_id: str) -> JSONResponse:
    """The group's destination."""
    if destination_id != ctx.service.account.group.id:
        raise ApiError(
            404, "NotFound_Destination", f"Destination with id '{destination_id}' doesn't exist"
        )
    return ok(destination_view(ctx.service))
