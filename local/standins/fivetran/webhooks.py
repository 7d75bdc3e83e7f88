"""Webhook subscriptions and signed, retried deliveries of sync events.

Fivetran posts `sync_start` / `sync_end` to every active webhook that subscribed to the event:
account webhooks for every connector, group webhooks for the connectors of their group. With a
secret, the raw body is signed: `X-Fivetran-Signature-256: <HMAC-SHA256(secret, body)>` as
uppercase hex (receivers should compare case-insensitively). A failed delivery (connection
error or non-2xx) is retried with exponential backoff up to `max_attempts`; every attempt is
kept in a delivery log the admin API shows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

import httpx

SIGNATURE_HEADER = "X-Fivetran-Signature-256"
EVENTS = (
    "sync_start",
    "sync_end",
    "status",
    "dbt_run_start",
    "dbt_run_succeeded",
    "dbt_run_failed",
    "transformation_run_start",
    "transformation_run_succeeded",
    "transformation_run_failed",
)


def sign(body: bytes, secret: str) -> str:
    """Fivetran's signature of a payload: uppercase hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().upper()


def iso_now() -> str:
    """UTC now as Fivetran prints it (milliseconds, `Z`)."""
    return iso(datetime.now(UTC))


def iso(value: datetime) -> str:
    """A datetime as `2024-05-01T10:00:00.123Z`."""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


class WebhookHub:
    """Holds subscriptions and delivers events on background threads."""

    def __init__(
        self,
        webhooks: dict[str, dict[str, Any]],
        on_change: Any,
        max_attempts: int = 5,
        retry_base: float = 1.0,
        timeout: float = 5.0,
    ) -> None:
        """Bind the hub to the persisted webhook dict.

        Args:
            webhooks: id -> webhook (mutated in place; `on_change` persists it).
            on_change: called after a subscription changes.
            max_attempts: delivery attempts per event and webhook before giving up.
            retry_base: seconds before the first retry; doubles every attempt.
            timeout: HTTP timeout per attempt.
        """
        self.webhooks = webhooks
        self.on_change = on_change
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.timeout = timeout
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=2000)
        self._lock = threading.Lock()
        self._inflight = 0

    def create(self, scope: str, group_id: str | None, body: dict[str, Any]) -> dict[str, Any]:
        """Create an account or group webhook (body already validated)."""
        webhook_id = "wh_" + secrets.token_hex(6)
        webhook = {
            "id": webhook_id,
            "type": scope,
            "url": body["url"],
            "events": list(body["events"]),
            "active": bool(body.get("active", True)),
            "secret": body.get("secret"),
            "created_at": iso_now(),
            "created_by": "local_admin",
        }
        if scope == "group":
            webhook["group_id"] = group_id
        with self._lock:
            self.webhooks[webhook_id] = webhook
        self.on_change()
        return webhook

    def update(self, webhook_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Patch url / events / active / secret."""
        with self._lock:
            webhook = self.webhooks[webhook_id]
            for key in ("url", "events", "active", "secret"):
                if key in body:
                    webhook[key] = body[key]
        self.on_change()
        return webhook

    def delete(self, webhook_id: str) -> None:
        """Remove a webhook."""
        with self._lock:
            del self.webhooks[webhook_id]
        self.on_change()

    @staticmethod
    def public(webhook: dict[str, Any]) -> dict[str, Any]:
        """The API view: the secret is masked, as Fivetran does."""
        view = dict(webhook)
        view["secret"] = "******" if webhook.get("secret") else None
        return view

    def emit(self, event: str, payload: dict[str, Any], group_id: str) -> None:
        """Deliver `payload` to every active subscriber of `event` in scope of `group_id`."""
        with self._lock:
            targets = [
                dict(w)
                for w in self.webhooks.values()
                if w.get("active")
                and event in w.get("events", [])
                and (w["type"] == "account" or w.get("group_id") == group_id)
            ]
        body = json.dumps(payload, separators=(",", ":")).encode()
        for webhook in targets:
            with self._lock:
                self._inflight += 1
            threading.Thread(
                target=self._deliver, args=(webhook, event, payload, body), daemon=True
            ).start()

    def send_test(self, webhook: dict[str, Any], event: str) -> dict[str, Any]:
        """POST a test payload once (the API's `/webhooks/{id}/test`)."""
        payload = {
            "event": event,
            "created": iso_now(),
            "connector_type": "_connector_1",
            "connector_id": "_connector_1",
            "connector_name": "_connector_1",
            "sync_id": "_sync_1",
            "destination_group_id": "_destination_1",
            "data": {"status": "SUCCESSFUL"},
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        status, error = self._post(webhook, body)
        ok = status is not None and 200 <= status < 300
        return {"succeed": ok, "status": status, "message": error or "OK"}

    @property
    def busy(self) -> bool:
        """Whether any delivery is still being attempted."""
        with self._lock:
            return self._inflight > 0

    def _post(self, webhook: dict[str, Any], body: bytes) -> tuple[int | None, str | None]:
        headers = {"Content-Type": "application/json", "User-Agent": "Fivetran-Local"}
        if webhook.get("secret"):
            headers[SIGNATURE_HEADER] = sign(body, webhook["secret"])
        try:
            resp = httpx.post(webhook["url"], content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return resp.status_code, None if resp.is_success else f"HTTP {resp.status_code}"

    def _deliver(
        self, webhook: dict[str, Any], event: str, payload: dict[str, Any], body: bytes
    ) -> None:
        try:
            for attempt in range(1, self.max_attempts + 1):
                status, error = self._post(webhook, body)
                ok = status is not None and 200 <= status < 300
                self.deliveries.append(
                    {
                        "webhook_id": webhook["id"],
                        "url": webhook["url"],
                        "event": event,
                        "connector_id": payload.get("connector_id"),
                        "sync_id": payload.get("sync_id"),
                        "attempt": attempt,
                        "status_code": status,
                        "error": error,
                        "delivered": ok,
                        "at": iso_now(),
                    }
                )
                if ok:
                    return
                if attempt < self.max_attempts:
                    time.sleep(self.retry_base * (2 ** (attempt - 1)))
        finally:
            with self._lock:
                self._inflight -= 1
