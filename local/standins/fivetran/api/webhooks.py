"""`/v1/webhooks`: account and group webhooks, and test deliveries."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import JSONResponse

from standins.fivetran.api.deps import (
    Context,
    GroupId,
    Paged,
    WebhookId,
    get_and_head,
    json_body_doc,
    validated,
)
from standins.fivetran.api.envelope import ok
from standins.fivetran.api.models import WebhookCreate, WebhookTest, WebhookUpdate

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@get_and_head(router, "")
async def list_webhooks(ctx: Context, paged: Paged) -> JSONResponse:
    """Every webhook (secrets masked)."""
    hub = ctx.service.hub
    return ok(paged.of([hub.public(w) for w in ctx.service.webhook_store.values()]))


@router.post("/account", openapi_extra=json_body_doc(WebhookCreate))
async def create_account_webhook(
    ctx: Context, body: Annotated[WebhookCreate, Depends(validated(WebhookCreate))]
) -> JSONResponse:
    """A webhook for the events of every connection."""
    hub = ctx.service.hub
    return ok(
        hub.public(hub.create("account", None, body.model_dump())),
        "Account webhook has been created",
    )


@router.post("/group/{group_id}", openapi_extra=json_body_doc(WebhookCreate))
async def create_group_webhook(
    ctx: Context,
    group_id: GroupId,
    body: Annotated[WebhookCreate, Depends(validated(WebhookCreate))],
) -> JSONResponse:
    """A webhook for the events of the group's connections."""
    hub = ctx.service.hub
    hook = hub.create("group", group_id, body.model_dump())
    return ok(hub.public(hook), "Group webhook has been created")


@get_and_head(router, "/{webhook_id}")
async def get_webhook(ctx: Context, webhook_id: WebhookId) -> JSONResponse:
    """One webhook (secret masked)."""
    return ok(ctx.service.hub.public(ctx.service.webhook_store[webhook_id]))


@router.patch("/{webhook_id}", openapi_extra=json_body_doc(WebhookUpdate))
async def update_webhook(
    ctx: Context,
    webhook_id: WebhookId,
    body: Annotated[WebhookUpdate, Depends(validated(WebhookUpdate))],
) -> JSONResponse:
    """Change url, events, active or secret."""
    hub = ctx.service.hub
    updated = hub.update(webhook_id, body.model_dump(exclude_unset=True))
    return ok(hub.public(updated), "Webhook has been updated")


@router.delete("/{webhook_id}")
async def delete_webhook(ctx: Context, webhook_id: WebhookId) -> JSONResponse:
    """Remove a webhook."""
    ctx.service.hub.delete(webhook_id)
    return ok(message="Webhook has been deleted")


@router.post("/{webhook_id}/test", openapi_extra=json_body_doc(WebhookTest, required=False))
async def test_webhook(
    ctx: Context,
    webhook_id: WebhookId,
    body: Annotated[WebhookTest, Depends(validated(WebhookTest, required=False))],
) -> JSONResponse:
    """POST one test payload to the webhook and report the answer."""
    service = ctx.service
    webhook = service.webhook_store[webhook_id]
    result = await asyncio.to_thread(service.hub.send_test, webhook, body.event)
    return ok(result, "Webhook has been tested")
