"""A Slack Web API stand-in on 127.0.0.1, spoken to by the real ``slack_sdk.WebClient``.

It answers the methods the platform uses (``auth.test``, ``chat.postMessage``,
``conversations.list``, plus ``api.test``) under ``/api/<method>`` with Slack's shapes and
Slack's habits: errors are ``{"ok": false, "error": "<code>"}`` with HTTP 200, arguments come
from the query string, a form body or a JSON body, and the token comes from an
``Authorization: Bearer`` header or a ``token`` argument (never from a JSON body, as on Slack).

Test-only routes start with an underscore: ``GET /_recorded`` (every received message as JSON),
``POST /_reset``, and ``POST /_inject`` (make the next calls of a method answer HTTP 429, the way
Slack rate-limits, so retry handling can be exercised). ``GET /`` lists received messages.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from standins.slack.workspace import (
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    TEAM_ID,
    TEAM_NAME,
    Channel,
    Workspace,
)

Args = dict[str, Any]
MethodHandler = Callable[[Args], Awaitable[dict[str, Any]]]

MAX_TEXT_CHARS = 40_000
MAX_BLOCKS = 50
MAX_PAGE = 1_000
DEFAULT_PAGE = 100


class SlackError(Exception):
    """A Slack API error code (``channel_not_found`` …), answered as ``ok: false``."""

    def __init__(self, code: str) -> None:
        """Carry the error code Slack would return."""
        super().__init__(code)
        self.code = code


@dataclass
class RateLimits:
    """Pending injected 429 answers per API method, set through ``POST /_inject``."""

    pending: dict[str, tuple[int, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def arm(self, method: str, count: int, retry_after_s: int) -> None:
        """Make the next ``count`` calls of ``method`` answer 429 with ``Retry-After``."""
        with self._lock:
            self.pending[method] = (count, retry_after_s)

    def take(self, method: str) -> int | None:
        """Consume one pending 429 for ``method``; returns its ``Retry-After`` or None."""
        with self._lock:
            count, retry_after_s = self.pending.get(method, (0, 0))
            if count <= 0:
                return None
            self.pending[method] = (count - 1, retry_after_s)
            return retry_after_s


async def _read_args(request: Request) -> tuple[Args, str | None]:
    """Merge query, form and JSON arguments; return them with the token the caller sent."""
    args: Args = dict(request.query_params)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    token_from_args = args.pop("token", None)
    if request.method == "POST":
        if content_type == "application/json":
            body = await request.body()
            if body:
                try:
                    parsed = json.loads(body)
                except json.JSONDecodeError as exc:
                    raise SlackError("invalid_json") from exc
                if not isinstance(parsed, dict):
                    raise SlackError("json_not_object")
                # Slack ignores a token inside a JSON body: it must travel in the header.
                parsed.pop("token", None)
                args.update(parsed)
        elif content_type == "application/x-www-form-urlencoded":
            # Parsed by hand: Starlette's form parser needs python-multipart, and file uploads
            # (the one multipart method) are not part of this stand-in.
            try:
                fields = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
            except UnicodeDecodeError as exc:
                raise SlackError("invalid_form_data") from exc
            token_from_args = fields.pop("token", None) or token_from_args
            args.update(fields)
        elif content_type == "multipart/form-data":
            raise SlackError("invalid_form_data")
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
    return args, token or token_from_args


def _parse_blocks(raw: Any) -> list[dict[str, Any]] | None:
    """Blocks as a list of objects; form bodies carry them as a JSON string."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SlackError("invalid_blocks_format") from exc
    if not isinstance(raw, list):
        raise SlackError("invalid_blocks_format")
    if len(raw) > MAX_BLOCKS or not all(
        isinstance(block, dict) and isinstance(block.get("type"), str) for block in raw
    ):
        raise SlackError("invalid_blocks")
    return raw


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        kind, _, value = base64.b64decode(cursor, validate=True).decode().partition(":")
        offset = int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise SlackError("invalid_cursor") from exc
    if kind != "offset" or offset < 0:
        raise SlackError("invalid_cursor")
    return offset


def _int_arg(args: Args, name: str, default: int) -> int:
    value = args.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise SlackError("invalid_arguments") from exc


def create_app(token: str, workspace: Workspace) -> Starlette:
    """The Starlette app serving ``workspace`` to callers holding ``token``."""
    limits = RateLimits()

    async def auth_test(args: Args) -> dict[str, Any]:
        return {
            "url": "https://fieldforce-local.slack.com/",
            "team": TEAM_NAME,
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    async def chat_post_message(args: Args) -> dict[str, Any]:
        channel = workspace.find_channel(str(args.get("channel") or ""))
        if channel is None:
            raise SlackError("channel_not_found")
        blocks = _parse_blocks(args.get("blocks"))
        text = args.get("text")
        if text is not None and not isinstance(text, str):
            text = str(text)
        if not text and not blocks and not args.get("attachments"):
            raise SlackError("no_text")
        if text and len(text) > MAX_TEXT_CHARS:
            raise SlackError("msg_too_long")
        extra = {
            key: value for key, value in args.items() if key not in ("channel", "text", "blocks")
        }
        message = workspace.post(channel, text, blocks, extra)
        return {"channel": channel.id, "ts": message["ts"], "message": message}

    async def conversations_list(args: Args) -> dict[str, Any]:
        limit = min(max(_int_arg(args, "limit", DEFAULT_PAGE), 1), MAX_PAGE)
        cursor = str(args.get("cursor") or "")
        offset = _decode_cursor(cursor) if cursor else 0
        types = str(args.get("types") or "public_channel").split(",")
        if "public_channel" not in {item.strip() for item in types}:
            return {"channels": [], "response_metadata": {"next_cursor": ""}}
        page, following = workspace.page_of_channels(offset, limit)
        return {
            "channels": [channel.as_api() for channel in page],
            "response_metadata": {
                "next_cursor": _encode_cursor(following) if following is not None else ""
            },
        }

    methods: dict[str, MethodHandler] = {
        "auth.test": auth_test,
        "chat.postMessage": chat_post_message,
        "conversations.list": conversations_list,
    }

    async def api(request: Request) -> Response:
        method = request.path_params["method"]
        retry_after = limits.take(method)
        if retry_after is not None:
            return JSONResponse(
                {"ok": False, "error": "ratelimited"},
                status_code=429,
                headers={"Retry-After": str(retry_after)},
            )
        try:
            args, caller_token = await _read_args(request)
            if method == "api.test":
                # api.test needs no token and echoes its arguments, as on Slack.
                if args.get("error"):
                    raise SlackError(str(args["error"]))
                return JSONResponse({"ok": True, "args": args})
            handler = methods.get(method)
            if handler is None:
                return JSONResponse(
                    {"ok": False, "error": "unknown_method", "req_method": method},
                    status_code=404,
                )
            if not caller_token:
                raise SlackError("not_authed")
            if caller_token != token:
                raise SlackError("invalid_auth")
            return JSONResponse({"ok": True, **await handler(args)})
        except SlackError as exc:
            return JSONResponse({"ok": False, "error": exc.code})

    async def recorded(request: Request) -> Response:
        return JSONResponse(
            {
                "messages": workspace.recorded(),
                "channels": [channel.as_api() for channel in workspace.channels],
            }
        )

    async def reset(request: Request) -> Response:
        workspace.reset()
        return JSONResponse({"ok": True})

    async def inject(request: Request) -> Response:
        body = await request.json()
        limits.arm(str(body["method"]), int(body.get("count", 1)), int(body.get("retry_after", 1)))
        return JSONResponse({"ok": True})

    async def index(request: Request) -> Response:
        return HTMLResponse(render_page(workspace.channels, workspace.recorded()))

    return Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/_recorded", recorded, methods=["GET"]),
            Route("/_reset", reset, methods=["POST"]),
            Route("/_inject", inject, methods=["POST"]),
            Route("/api/{method}", api, methods=["GET", "POST"]),
        ]
    )


def render_page(channels: list[Channel], messages: list[dict[str, Any]]) -> str:
    """A small self-refreshing HTML page: channels, then received messages, newest first."""
    rows = []
    for record in reversed(messages):
        message = record["message"]
        when = datetime.fromtimestamp(float(message["ts"]), UTC).strftime("%Y-%m-%d %H:%M:%S")
        blocks = message.get("blocks")
        blocks_html = (
            "<details><summary>blocks</summary><pre>"
            + html.escape(json.dumps(blocks, indent=2))
            + "</pre></details>"
            if blocks
            else ""
        )
        rows.append(
            "<tr>"
            f"<td>{when} UTC</td>"
            f"<td>#{html.escape(record['channel_name'])}</td>"
            f"<td><pre>{html.escape(message['text'])}</pre>{blocks_html}</td>"
            "</tr>"
        )
    channel_list = ", ".join(f"#{html.escape(c.name)} ({c.id})" for c in channels)
    body = "".join(rows) or '<tr><td colspan="3">No messages yet.</td></tr>'
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta http-equiv='refresh' content='5'>"
        "<title>Slack stand-in</title>"
        "<style>body{font-family:sans-serif;margin:2em}td{vertical-align:top;padding:4px 8px;"
        "border-bottom:1px solid #ddd}pre{white-space:pre-wrap;margin:0}</style></head><body>"
        f"<h1>Slack stand-in: {html.escape(TEAM_NAME)}</h1>"
        f"<p>Channels: {channel_list}</p>"
        f"<p>{len(messages)} message(s) received.</p>"
        "<table><tr><th>when</th><th>channel</th><th>message</th></tr>"
        f"{body}</table></body></html>"
    )
