"""The Fivetran REST API calls connector configuration needs, over httpx with tenacity.

Only throttling (429) and server errors (5xx) are retried, with exponential backoff: any other
refusal, such as 409 ``IllegalState`` for a read-only table, is Fivetran's answer and retrying
it would only repeat it. Credentials travel in the Basic auth header and nowhere else; error
messages carry Fivetran's code and message, the method and the path, never a header.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

PAGE_SIZE = 1000
"""Fivetran's largest page."""


class FivetranApiError(RuntimeError):
    """Fivetran refused a request: its HTTP status, error code and message."""

    def __init__(self, method: str, path: str, status: int, code: str, message: str) -> None:
        """Keep what Fivetran answered, for the report."""
        super().__init__(f"{method} {path}: {status} {code}: {message}")
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.message = message


class _Retryable(Exception):
    """A 429 or 5xx answer, retried with backoff."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, (_Retryable, httpx.TransportError))


class FivetranApi:
    """The connection and schema-config endpoints of one account.

    Args:
        client: an ``httpx.Client`` whose ``base_url`` is the API root including ``/v1`` and
            which authenticates (see :func:`connect`); any transport works, so the local
            stand-in can be reached in process.
        attempts: how often a throttled or failing request is tried in all.
        max_wait_s: the longest backoff between two attempts.
    """

    def __init__(self, client: httpx.Client, attempts: int = 5, max_wait_s: float = 30.0) -> None:
        """Wrap the client."""
        self.client = client
        self.attempts = attempts
        self.max_wait_s = max_wait_s

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One call; returns Fivetran's ``data``.

        Raises:
            FivetranApiError: any refusal (after the retries, for a 429 or 5xx).
        """
        retrying = Retrying(
            retry=retry_if_exception(_is_retryable),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=0.5, max=self.max_wait_s),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    response = self.client.request(method, path, **kwargs)
                    if response.status_code == 429 or response.status_code >= 500:
                        raise _Retryable(response)
        except _Retryable as exc:
            response = exc.response
        except httpx.TransportError as exc:
            raise FivetranApiError(method, path, 0, "Unreachable", type(exc).__name__) from None
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            raise FivetranApiError(
                method,
                path,
                response.status_code,
                str(body.get("code", "Error")),
                str(body.get("message", response.reason_phrase)),
            )
        return response.json().get("data")

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        while True:
            page = self.request(
                "GET",
                path,
                params={**params, "limit": PAGE_SIZE, **({"cursor": cursor} if cursor else {})},
            )
            yield from page.get("items", [])
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def connections(self, group_id: str | None = None) -> list[dict[str, Any]]:
        """Every connection of the account (or of one group)."""
        return list(self._pages("connections", {"group_id": group_id} if group_id else {}))

    def connection(self, connection_id: str) -> dict[str, Any]:
        """``GET /v1/connections/{id}``."""
        return dict(self.request("GET", f"connections/{connection_id}"))

    def schema_config(self, connection_id: str) -> dict[str, Any]:
        """``GET /v1/connections/{id}/schemas``."""
        return dict(self.request("GET", f"connections/{connection_id}/schemas"))

    def columns(self, connection_id: str, schema: str, table: str) -> dict[str, Any]:
        """``GET .../schemas/{schema}/tables/{table}/columns``: every column of the source table."""
        data = self.request(
            "GET", f"connections/{connection_id}/schemas/{schema}/tables/{table}/columns"
        )
        return dict(data.get("columns", {}))

    def update_connection(self, connection_id: str, body: dict[str, Any]) -> None:
        """``PATCH /v1/connections/{id}`` (sync_frequency, schedule_type, paused)."""
        self.request("PATCH", f"connections/{connection_id}", json=body)

    def update_schema_config(self, connection_id: str, body: dict[str, Any]) -> None:
        """``PATCH /v1/connections/{id}/schemas`` (schema_change_handling)."""
        self.request("PATCH", f"connections/{connection_id}/schemas", json=body)

    def update_table(
        self, connection_id: str, schema: str, table: str, body: dict[str, Any]
    ) -> None:
        """``PATCH .../schemas/{schema}/tables/{table}`` (enabled)."""
        self.request(
            "PATCH", f"connections/{connection_id}/schemas/{schema}/tables/{table}", json=body
        )

    def update_column(
        self, connection_id: str, schema: str, table: str, column: str, body: dict[str, Any]
    ) -> None:
        """``PATCH .../tables/{table}/columns/{column}`` (enabled, hashed)."""
        self.request(
            "PATCH",
            f"connections/{connection_id}/schemas/{schema}/tables/{table}/columns/{column}",
            json=body,
        )


def connect(base_url: str, api_key: str, api_secret: str, timeout_s: float = 60.0) -> httpx.Client:
    """An ``httpx.Client`` for the API root ``base_url`` (including ``/v1``)."""
    return httpx.Client(
        base_url=base_url.rstrip("/") + "/",
        auth=(api_key, api_secret),
        timeout=timeout_s,
        headers={"Accept": "application/json"},
    )
