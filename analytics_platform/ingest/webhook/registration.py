"""Exactly one Fivetran account webhook points at this receiver, for as long as it runs.

Fivetran's webhook object (``id``, ``type``, ``group_id``, ``url``, ``events``, ``active``,
``secret`` (masked on read), ``created_at``, ``created_by``) has no label or description, so
the receiver marks its subscription in the one field it controls: the URL. It registers its
public URL plus two query parameters its routes ignore:

* ``fieldforce_receiver=<receiver id>`` names the deployment. Every account webhook whose URL
  carries the same id was created by this deployment, whatever host or port it points at: one
  is kept and updated (``PATCH``: url, events, active, secret) and every other one is deleted.
  A webhook without the marker, or with another deployment's id, belongs to someone else and is
  never touched, even when it points at the same host.
* ``fieldforce_instance=<random>`` names this process. On shutdown the receiver deletes the
  subscription only while it still carries its own instance: during a rolling restart the new
  process has already taken the subscription over, and the old one must not remove it.

Matching by URL alone would not do: the local platform's receiver listens on a new port on
every start, so the previous run's subscription points at a dead port and no longer matches;
and in production another tool may subscribe an endpoint on the same host. An unmarked webhook
with exactly this receiver's URL is adopted all the same, since a second subscription to one
endpoint would deliver every event twice.

Deliveries missed while no subscription exists (between a stop and the next start) are not
lost: the receiver's sweep asks the API for every connector's last sync at start-up. Two
processes of one deployment that register at the same instant may both create a subscription;
the next registration removes the extra one.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from starlette.concurrency import run_in_threadpool
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

log = logging.getLogger("fieldforce.webhook")

MARKER = "fieldforce_receiver"
"""Query parameter naming the deployment that created a subscription."""
INSTANCE = "fieldforce_instance"
"""Query parameter naming the receiver process that holds a subscription."""
EVENTS = ("sync_start", "sync_end")
"""What the receiver needs: ``sync_start`` holds reports back, ``sync_end`` releases them."""
PAGE_SIZE = 100
SHUTDOWN_ATTEMPTS = 3
"""Fewer tries at shutdown: the supervisor's grace period is short, and a subscription left
behind is removed by the next registration anyway."""


class RegistrationError(RuntimeError):
    """The Fivetran API refused a webhook call, or kept failing after every retry."""


def _transient(exc: BaseException) -> bool:
    """Network errors, throttling and server errors are retried; a 4xx is an answer."""
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, httpx.HTTPStatusError) and (
        exc.response.status_code == 429 or exc.response.status_code >= 500
    )


def with_markers(url: str, receiver_id: str, instance: str) -> str:
    """``url`` with the deployment and instance markers in its query string.

    Args:
        url: the receiver's public URL (any query it has is kept).
        receiver_id: the deployment's id.
        instance: this process's id.

    Returns:
        The URL to register.
    """
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in (MARKER, INSTANCE)]
    query += [(MARKER, receiver_id), (INSTANCE, instance)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def markers(url: str) -> tuple[str | None, str | None]:
    """The deployment and instance markers of a registered URL (None where absent)."""
    query = dict(parse_qsl(urlsplit(url).query))
    return query.get(MARKER), query.get(INSTANCE)


def _without_markers(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in (MARKER, INSTANCE)]
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass
class WebhookRegistration:
    """This receiver's account webhook: register at start-up, unregister at shutdown.

    Secrets (the API secret and the webhook secret) are excluded from ``repr`` and never
    logged; Fivetran masks the webhook secret on every read, so it is sent on every update.
    """

    api_base_url: str
    """API root including the version, e.g. ``https://api.fivetran.com/v1``."""
    api_key: str
    api_secret: str = field(repr=False)
    public_url: str
    """Where Fivetran reaches this receiver's ``/webhooks/fivetran`` route."""
    webhook_secret: str = field(repr=False)
    receiver_id: str = "fieldforce"
    """Names the deployment; deployments sharing a Fivetran account need distinct ids."""
    events: tuple[str, ...] = EVENTS
    instance: str = field(default_factory=lambda: secrets.token_hex(6))
    attempts: int = 5
    """Tries per API call (exponential backoff between them) before giving up."""
    timeout_s: float = 30.0
    webhook_id: str | None = field(default=None, init=False)
    """The subscription this process holds, once registered."""

    @property
    def url(self) -> str:
        """The URL this process registers (public URL plus markers)."""
        return with_markers(self.public_url, self.receiver_id, self.instance)

    def register(self) -> str:
        """Make exactly one of this deployment's subscriptions point here; return its id.

        Keeps the subscription already at this URL (or else any of this deployment's), updates
        it, deletes this deployment's others, and creates one when there is none.

        Returns:
            The id of the subscription this receiver now holds.

        Raises:
            RegistrationError: the API refused a call or stayed unreachable.
        """
        with self._client() as client:
            mine = [w for w in self._list(client) if self._is_ours(w)]
            plain = _without_markers(self.public_url)
            mine.sort(key=lambda w: _without_markers(w["url"]) != plain)
            body: dict[str, Any] = {
                "url": self.url,
                "events": list(self.events),
                "active": True,
                "secret": self.webhook_secret,
            }
            if mine:
                keep = mine[0]
                self._call(client, "PATCH", f"/webhooks/{keep['id']}", json=body)
                webhook_id = str(keep["id"])
                action = "updated"
            else:
                created = self._call(client, "POST", "/webhooks/account", json=body)
                webhook_id = str(created["id"])
                action = "created"
            for stale in mine[1:]:
                self._call(client, "DELETE", f"/webhooks/{stale['id']}", missing_ok=True)
                log.info("deleted stale webhook %s (%s)", stale["id"], stale.get("url"))
        self.webhook_id = webhook_id
        log.info("%s Fivetran webhook %s -> %s", action, webhook_id, self.public_url)
        return webhook_id

    def unregister(self) -> bool:
        """Delete this process's subscription while it still points here.

        Returns:
            Whether a subscription was deleted (False when none was held, another instance
            has taken it over, or it is gone already).

        Raises:
            RegistrationError: the API refused a call or stayed unreachable.
        """
        if self.webhook_id is None:
            return False
        webhook_id, self.webhook_id = self.webhook_id, None
        with self._client() as client:
            current = self._call(
                client,
                "GET",
                f"/webhooks/{webhook_id}",
                missing_ok=True,
                attempts=SHUTDOWN_ATTEMPTS,
            )
            if current is None or markers(str(current.get("url", ""))) != (
                self.receiver_id,
                self.instance,
            ):
                log.info("Fivetran webhook %s is no longer this receiver's; kept", webhook_id)
                return False
            self._call(
                client,
                "DELETE",
                f"/webhooks/{webhook_id}",
                missing_ok=True,
                attempts=SHUTDOWN_ATTEMPTS,
            )
        log.info("deleted Fivetran webhook %s", webhook_id)
        return True

    def _is_ours(self, webhook: dict[str, Any]) -> bool:
        if webhook.get("type", "account") != "account":
            return False
        url = str(webhook.get("url", ""))
        receiver_id, _ = markers(url)
        if receiver_id is not None:
            return receiver_id == self.receiver_id
        return url == self.public_url

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.api_base_url.rstrip("/"),
            auth=(self.api_key, self.api_secret),
            timeout=self.timeout_s,
            headers={"Accept": "application/json"},
        )

    def _list(self, client: httpx.Client) -> Iterator[dict[str, Any]]:
        """Every webhook of the account, page by page (``cursor``/``limit``)."""
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": PAGE_SIZE}
            if cursor:
                params["cursor"] = cursor
            data = self._call(client, "GET", "/webhooks", params=params) or {}
            yield from data.get("items", [])
            cursor = data.get("next_cursor")
            if not cursor:
                return

    def _call(
        self,
        client: httpx.Client,
        method: str,
        path: str,
        *,
        missing_ok: bool = False,
        attempts: int | None = None,
        **kwargs: Any,
    ) -> Any:
        """One API call with retries; returns the envelope's ``data`` (None for a 404 if ok)."""
        retrying = Retrying(
            stop=stop_after_attempt(attempts or self.attempts),
            wait=wait_exponential(multiplier=0.5, max=8),
            retry=retry_if_exception(_transient),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    response = client.request(method, path, **kwargs)
                    if missing_ok and response.status_code == 404:
                        return None
                    response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            raise RegistrationError(
                f"Fivetran refused {method} {path}: HTTP {exc.response.status_code}"
                f" {exc.response.text[:200]}"
            ) from None
        except httpx.TransportError as exc:
            raise RegistrationError(
                f"Fivetran API at {self.api_base_url} unreachable for {method} {path}:"
                f" {type(exc).__name__}"
            ) from None
        return response.json().get("data")


def lifespan(
    registration: WebhookRegistration,
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """An ASGI lifespan that registers at start-up and unregisters at shutdown.

    A failed registration fails the start-up (the receiver would otherwise wait for events that
    never come); a failed unregistration is only logged, since the next registration cleans up.

    Args:
        registration: the receiver's subscription.

    Returns:
        The lifespan, for ``Starlette(lifespan=...)``.
    """

    @asynccontextmanager
    async def run(_app: Any) -> AsyncIterator[None]:
        await run_in_threadpool(registration.register)
        try:
            yield
        finally:
            try:
                await run_in_threadpool(registration.unregister)
            except RegistrationError as exc:
                log.warning("could not unregister the Fivetran webhook: %s", exc)

    return run
