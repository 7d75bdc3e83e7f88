"""The Fivetran workspace and client the platform uses: dagster-fivetran plus a base URL.

dagster-fivetran hard-codes `https://api.fivetran.com/v1`; the platform reaches the real
Fivetran in production and the local stand-in elsewhere through the same code, so the base URL
is configuration (`FIVETRAN_API_BASE_URL`). The subclasses also work around three upstream bugs
without touching library internals:

1. `list_connectors_for_group` reads `nextCursor`, but the API pages with `next_cursor`: every
   connector after the first page is silently dropped.
2. `build_fivetran_polling_sensor` calls `workspace.get_client()` on the unresolved workspace,
   so `dg.EnvVar` fields reach the API as the variable *names*; `get_client` resolves them.
3. A refused connection leaves `response` unbound in the request retry loop and surfaces as an
   `UnboundLocalError`; it becomes a `dg.Failure` naming the URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import requests
from dagster_fivetran import FivetranWorkspace
from dagster_fivetran.resources import FivetranClient
from dagster_fivetran.types import FivetranOutput
from pydantic import Field

FIVETRAN_API_BASE_URL = "https://api.fivetran.com/v1"
"""The real API (dagster-fivetran's `FIVETRAN_API_BASE` + `/v1`)."""

DEFAULT_PAGE_SIZE = 1000
"""Fivetran's maximum page size for list endpoints."""


class ConfigurableFivetranClient(FivetranClient):
    """`FivetranClient` with a configurable base URL, poll interval and the bug workarounds."""

    def __init__(
        self,
        *,
        api_base_url: str = FIVETRAN_API_BASE_URL,
        poll_interval: float = 10.0,
        poll_timeout: float | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        **kwargs: Any,
    ) -> None:
        """Build the client.

        Args:
            api_base_url: API root including the version, e.g. `http://127.0.0.1:8701/v1`.
            poll_interval: seconds between status polls in `sync_and_poll` (the library's
                default of 10 s dominates the latency of a short local sync).
            poll_timeout: give up polling after this many seconds (None: never).
            page_size: `limit` for paged list requests.
            **kwargs: `FivetranClient`'s own arguments (credentials, retries).
        """
        super().__init__(**kwargs)
        self._api_base_url = api_base_url.rstrip("/")
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout
        self.page_size = page_size

    @property
    def api_base_url(self) -> str:
        """The configured API root (the library would return the real Fivetran's)."""
        return self._api_base_url

    def list_connectors_for_group(self, group_id: str) -> Sequence[Mapping[str, Any]]:
        """All connectors of a group, following `next_cursor` across pages (bug 1)."""
        results: list[Mapping[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": self.page_size}
            if cursor:
                params["cursor"] = cursor
            data = self._make_and_handle_request(
                method="GET", endpoint=f"groups/{group_id}/connectors", params=params
            )
            results.extend(data["items"])
            cursor = data.get("next_cursor") or data.get("nextCursor")
            if not cursor:
                return results

    def _make_request(
        self,
        method: str,
        endpoint: str,
        data: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> requests.Response:
        """The library's request loop, with a refused connection reported by URL (bug 3)."""
        try:
            return super()._make_request(method, endpoint, data=data, params=params)
        except UnboundLocalError:
            raise dg.Failure(
                f"Could not reach the Fivetran API at {self.api_base_url}/{endpoint}"
                f" after {self.request_max_retries} retries (connection refused or unreachable);"
                " check FIVETRAN_API_BASE_URL and that the service is up."
            ) from None

    def sync_and_poll(
        self,
        connector_id: str,
        poll_interval: float | None = None,
        poll_timeout: float | None = None,
    ) -> FivetranOutput | None:
        """Force a sync and poll it to completion, at the configured interval by default."""
        return super().sync_and_poll(
            connector_id,
            poll_interval=self.poll_interval if poll_interval is None else poll_interval,
            poll_timeout=self.poll_timeout if poll_timeout is None else poll_timeout,
        )

    def resync_and_poll(
        self,
        connector_id: str,
        poll_interval: float | None = None,
        poll_timeout: float | None = None,
        resync_parameters: Mapping[str, Sequence[str]] | None = None,
    ) -> FivetranOutput | None:
        """Historical resync, polled at the configured interval by default."""
        return super().resync_and_poll(
            connector_id,
            poll_interval=self.poll_interval if poll_interval is None else poll_interval,
            poll_timeout=self.poll_timeout if poll_timeout is None else poll_timeout,
            resync_parameters=resync_parameters,
        )


def _resolved(value: Any) -> Any:
    """The value of a `dg.EnvVar` (which is a `str` holding the *name*); others unchanged.

    A missing variable fails loudly rather than sending an empty credential.
    """
    if isinstance(value, dg.EnvVar):
        resolved = value.get_value()
        if resolved is None:
            raise dg.Failure(f"environment variable {value.env_var_name} is not set")
        return resolved
    return value


class ConfigurableFivetranWorkspace(FivetranWorkspace):
    """`FivetranWorkspace` whose client talks to `api_base_url`.

    Example:
        ```python
        fivetran = ConfigurableFivetranWorkspace(
            account_id="fieldforce",
            api_key=dg.EnvVar("FIVETRAN_API_KEY"),
            api_secret=dg.EnvVar("FIVETRAN_API_SECRET"),
            api_base_url=dg.EnvVar("FIVETRAN_API_BASE_URL"),
        )
        ```
    """

    api_base_url: str = Field(
        default=FIVETRAN_API_BASE_URL,
        description="Fivetran REST API root including the version (the local stand-in's or the real one).",
    )
    poll_interval: float = Field(
        default=10.0, description="Seconds between status polls while a triggered sync runs."
    )
    poll_timeout: float | None = Field(
        default=None, description="Fail a triggered sync that has not finished after this long."
    )
    page_size: int = Field(default=DEFAULT_PAGE_SIZE, description="Page size for list requests.")

    def get_client(self) -> ConfigurableFivetranClient:
        """A client for the configured URL, with credentials resolved even when unresolved (bug 2)."""
        return ConfigurableFivetranClient(
            api_base_url=_resolved(self.api_base_url),
            poll_interval=self.poll_interval,
            poll_timeout=self.poll_timeout,
            page_size=self.page_size,
            api_key=_resolved(self.api_key),
            api_secret=_resolved(self.api_secret),
            request_max_retries=self.request_max_retries,
            request_retry_delay=self.request_retry_delay,
            request_backoff_factor=self.request_backoff_factor,
            disable_schedule_on_trigger=self.disable_schedule_on_trigger,
            retry_on_reschedule=self.retry_on_reschedule,
        )
