"""What every route depends on: the service, Basic auth, the rate limit, ids, JSON bodies.

Dependencies run in the order Fivetran checks a request: credentials first, then the rate
limit, then the ids in the path (404), then the body (400). Bodies are therefore read here
instead of by FastAPI's own body parameter, which would parse them before the credentials are
checked; the models still describe them in the OpenAPI document (see `json_body_doc`).

Annotations are evaluated at import (no `from __future__ import annotations`), because the
body dependencies are closures FastAPI must resolve from their signatures.
"""

import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, ValidationError

from standins.fivetran.api.envelope import Page, page
from standins.fivetran.api.errors import ApiError, invalid_input
from standins.fivetran.service import FivetranService

Model = TypeVar("Model", bound=BaseModel)
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


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


@dataclass
class ApiContext:
    """What the routes of one app serve: the service, its credentials and its rate limit."""

    service: FivetranService
    api_key: str
    api_secret: str
    limiter: RateLimiter = field(default_factory=RateLimiter)


async def context(request: Request) -> ApiContext:
    """The context `build_app` stored on the app."""
    ctx: ApiContext = request.app.state.fivetran
    return ctx


Context = Annotated[ApiContext, Depends(context)]


class _BasicCredentials(HTTPBasic):
    """HTTP Basic that yields None for any unusable header, so the refusal stays Fivetran's."""

    async def __call__(self, request: Request) -> HTTPBasicCredentials | None:  # type: ignore[override]
        try:
            return await super().__call__(request)
        except HTTPException:
            return None


_basic = _BasicCredentials(
    auto_error=False, realm="fivetran", description="Fivetran API key and secret"
)


async def authenticate(
    ctx: Context, credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)]
) -> None:
    """Require the API key and secret (401 with a Basic challenge otherwise)."""
    if credentials is None or not (
        secrets.compare_digest(credentials.username.encode(), ctx.api_key.encode())
        and secrets.compare_digest(credentials.password.encode(), ctx.api_secret.encode())
    ):
        raise ApiError(
            401,
            "AuthFailed",
            "Missing or invalid API key/secret",
            headers={"WWW-Authenticate": 'Basic realm="fivetran"'},
        )


async def rate_limit(ctx: Context) -> None:
    """Refuse with 429 and `Retry-After` above the configured request rate."""
    if not ctx.limiter.allow():
        raise ApiError(
            429,
            "TooManyRequests",
            "API rate limit exceeded",
            headers={"Retry-After": str(ctx.limiter.retry_after)},
        )


async def known_connector(
    ctx: Context, connector_id: Annotated[str, Path(description="connection id")]
) -> str:
    """The connector id of the path (404 when the account has no such connection)."""
    if connector_id not in ctx.service.account.connectors:
        raise ApiError(
            404, "NotFound_Connection", f"Connection with id '{connector_id}' doesn't exist"
        )
    return connector_id


async def known_group(ctx: Context, group_id: Annotated[str, Path(description="group id")]) -> str:
    """The group id of the path (404 unless it is the account's group)."""
    if group_id != ctx.service.account.group.id:
        raise ApiError(404, "NotFound_Group", f"Group with id '{group_id}' doesn't exist")
    return group_id


async def known_webhook(
    ctx: Context, webhook_id: Annotated[str, Path(description="webhook id")]
) -> str:
    """The webhook id of the path (404 when there is no such webhook)."""
    if webhook_id not in ctx.service.webhook_store:
        raise ApiError(404, "NotFound_Webhook", f"Webhook with id '{webhook_id}' doesn't exist")
    return webhook_id


Paged = Annotated[Page, Depends(page)]
ConnectorId = Annotated[str, Depends(known_connector)]
GroupId = Annotated[str, Depends(known_group)]
WebhookId = Annotated[str, Depends(known_webhook)]


def json_object(required: bool = True) -> Callable[[Request], Awaitable[dict[str, Any]]]:
    """A dependency yielding the request's JSON object (400 when it is not one).

    Args:
        required: whether an empty body is refused; otherwise it reads as `{}`.
    """

    async def read(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            if required:
                raise invalid_input("request body must be a JSON object")
            return {}
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise invalid_input(f"malformed JSON body: {exc.msg}") from None
        if not isinstance(body, dict):
            raise invalid_input("request body must be a JSON object")
        return body

    return read


JsonObject = Annotated[dict[str, Any], Depends(json_object())]
OptionalJsonObject = Annotated[dict[str, Any], Depends(json_object(required=False))]


def validation_message(model: type[BaseModel], exc: ValidationError) -> str:
    """Fivetran's message for the first problem pydantic found in a body.

    Validators raise `ValueError` with the exact message; a missing required field answers
    with its model's `missing` message for that field.
    """
    first = exc.errors()[0]
    field_name = str(first["loc"][0]) if first["loc"] else ""
    if first["type"] == "missing":
        missing: dict[str, str] = getattr(model, "missing_messages", {})
        return missing.get(field_name, f"{field_name} is required")
    error = (first.get("ctx") or {}).get("error")
    if isinstance(error, ValueError):
        return str(error)
    return f"{field_name}: {first['msg']}" if field_name else first["msg"]


def validated(model: type[Model], required: bool = True) -> Callable[[dict[str, Any]], Model]:
    """A dependency yielding the request's body validated as `model` (400 with its message)."""
    read = json_object(required)

    async def parse(body: Annotated[dict[str, Any], Depends(read)]) -> Model:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise invalid_input(validation_message(model, exc)) from None

    return parse


def json_body_doc(model: type[BaseModel] | None, required: bool = True) -> dict[str, Any]:
    """`openapi_extra` documenting a body read by `json_object` / `validated` as `model`.

    Args:
        model: the body's model; None documents any JSON object.
        required: whether the body may be left out.
    """
    schema = model.model_json_schema() if model is not None else {"type": "object"}
    return {
        "requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}
    }


def get_and_head(router: APIRouter, path: str, **kwargs: Any) -> Callable[[Endpoint], Endpoint]:
    """Register a GET route that also answers HEAD (kept out of the OpenAPI document)."""

    def register(endpoint: Endpoint) -> Endpoint:
        router.get(path, **kwargs)(endpoint)
        router.api_route(path, methods=["HEAD"], include_in_schema=False, **kwargs)(endpoint)
        return endpoint

    return register
