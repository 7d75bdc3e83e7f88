"""Fivetran's success envelope and cursor pagination.

Every answer is `{"code": "Success", "data": ...}` (plus a `message` for actions); lists are
`{"items": [...], "next_cursor": ...}`, paged by `limit` (1 to 1000, default 100) and an opaque
`cursor`, with `next_cursor` absent on the last page.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Query
from starlette.responses import JSONResponse

from standins.fivetran.api.errors import invalid_input


def ok(data: Any = None, message: str | None = None) -> JSONResponse:
    """Fivetran's success envelope."""
    body: dict[str, Any] = {"code": "Success"}
    if message:
        body["message"] = message
    if data is not None:
        body["data"] = data
    return JSONResponse(body)


@dataclass(frozen=True)
class Page:
    """Which slice of a list one request asks for."""

    offset: int
    limit: int

    def of(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """This page of `items`, with the cursor of the next page when there is one."""
        data: dict[str, Any] = {"items": items[self.offset : self.offset + self.limit]}
        end = self.offset + self.limit
        if end < len(items):
            data["next_cursor"] = base64.urlsafe_b64encode(str(end).encode()).decode()
        return data


async def page(
    limit: Annotated[
        str | None, Query(description="items per page, 1 to 1000 (default 100)")
    ] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
) -> Page:
    """The requested page (400 for a limit out of range or a cursor we did not issue).

    The limit is parsed here rather than typed as an int so that its error keeps Fivetran's
    wording instead of a validation report.
    """
    raw_limit = "100" if limit is None else limit
    try:
        size = int(raw_limit)
    except ValueError:
        raise invalid_input(f"limit must be an integer, got {raw_limit!r}") from None
    if not 1 <= size <= 1000:
        raise invalid_input("limit must be between 1 and 1000")
    offset = 0
    if cursor:
        try:
            offset = int(base64.urlsafe_b64decode(cursor.encode()).decode())
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise invalid_input(f"invalid cursor {cursor!r}") from None
    return Page(offset=offset, limit=size)
