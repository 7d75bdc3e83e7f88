"""Slack and PagerDuty as Dagster resources, reached only through a base URL.

The URL is the vendor's own or a loopback stand-in's (settings choose); either way the
resources scrub their own secrets, and any the caller names, from everything they send.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import httpx
from dagster_slack import SlackResource
from pydantic import Field
from slack_sdk import WebClient
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from analytics_platform.alerts.render import REDACTED, PagerDutySeverity, redact
from analytics_platform.settings import PAGERDUTY_EVENTS_URL, SLACK_API_URL

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30.0


class PagerDutyError(RuntimeError):
    """PagerDuty refused an event, or kept failing after every retry."""

    def __init__(self, message: str, status: int | None, errors: Sequence[str] = ()) -> None:
        """Keep the HTTP status and the API's error list for callers and logs."""
        super().__init__(message)
        self.status = status
        self.errors = tuple(errors)


@dataclass(frozen=True)
class SlackPost:
    """Where a Slack message landed: the channel id and the message timestamp (its id)."""

    channel: str
    ts: str


class SlackNotifier(SlackResource):
    """Slack, reached through ``base_url``: ``https://slack.com/api/`` or a stand-in.

    ``dagster_slack.SlackResource`` builds ``WebClient(token)`` with Slack's URL fixed, so this
    subclass adds ``base_url`` and Slack's own retry handlers (rate limits honour
    ``Retry-After``; dropped connections retry), and scrubs secrets from what it posts.
    """

    base_url: str = Field(
        default=SLACK_API_URL,
        description="Slack Web API base URL, ending in /api/ (SLACK_API_BASE_URL).",
    )
    rate_limit_retries: int = Field(
        default=2, description="How many times to retry a rate-limited (HTTP 429) call."
    )
    timeout_seconds: int = Field(default=10, description="Per-request timeout.")

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Mask the token, so logging the resource cannot leak it."""
        for name, value in super().__repr_args__():
            yield name, REDACTED if name == "token" else value

    def get_client(self) -> WebClient:
        """A ``WebClient`` bound to ``base_url`` and retrying rate limits and dropped connections."""
        base_url = self.base_url if self.base_url.endswith("/") else self.base_url + "/"
        return WebClient(
            token=self.token,
            base_url=base_url,
            timeout=self.timeout_seconds,
            retry_handlers=[
                ConnectionErrorRetryHandler(max_retry_count=1),
                RateLimitErrorRetryHandler(max_retry_count=self.rate_limit_retries),
            ],
        )

    def post(
        self,
        channel: str,
        text: str,
        blocks: Sequence[Mapping[str, Any]] | None = None,
        *,
        secrets: Iterable[str] = (),
    ) -> SlackPost:
        """Post a message; returns where it landed.

        Args:
            channel: ``#name`` or a channel id.
            text: The notification text (and the fallback when ``blocks`` are given).
            blocks: Block Kit blocks.
            secrets: Other secrets to scrub besides this resource's token.

        Raises:
            slack_sdk.errors.SlackApiError: Slack answered ``ok: false`` (``channel_not_found``,
                ``invalid_auth`` …); ``exc.response["error"]`` holds the code.
        """
        hidden = [self.token, *secrets]
        kwargs: dict[str, Any] = {"channel": channel, "text": redact(text, hidden)}
        if blocks:
            kwargs["blocks"] = redact([dict(block) for block in blocks], hidden)
        response = self.get_client().chat_postMessage(**kwargs)
        return SlackPost(channel=str(response["channel"]), ts=str(response["ts"]))


class PagerDutyNotifier(dg.ConfigurableResource):
    """PagerDuty's Events API v2, reached through ``events_url`` (the real one or a stand-in).

    Retries what the API says to retry (HTTP 429, 5xx, network errors) with exponential
    backoff; a 400 is a bug in the event and raises at once with PagerDuty's error list.
    """

    routing_key: str = Field(
        description="Events API v2 integration key of the service (PAGERDUTY_ROUTING_KEY)."
    )
    events_url: str = Field(
        default=PAGERDUTY_EVENTS_URL, description="Events API v2 URL (PAGERDUTY_EVENTS_URL)."
    )
    max_attempts: int = Field(default=4, description="Attempts per event, the first included.")
    backoff_seconds: float = Field(
        default=1.0,
        description=(
            f"Wait before the first retry; doubles per retry, up to {MAX_BACKOFF_SECONDS:g} s."
        ),
    )
    timeout_seconds: float = Field(default=10.0, description="Per-request timeout.")

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Mask the routing key, so logging the resource cannot leak it."""
        for name, value in super().__repr_args__():
            yield name, REDACTED if name == "routing_key" else value

    def trigger(
        self,
        dedup_key: str,
        summary: str,
        severity: PagerDutySeverity,
        source: str,
        component: str | None = None,
        links: Sequence[Mapping[str, str]] = (),
        custom_details: Mapping[str, Any] | None = None,
        *,
        group: str | None = None,
        event_class: str | None = None,
        timestamp: datetime | None = None,
        secrets: Iterable[str] = (),
    ) -> str:
        """Open an incident, or fold into the open one with ``dedup_key``; returns the key."""
        payload: dict[str, Any] = {"summary": summary, "source": source, "severity": severity}
        optional = {
            "component": component,
            "group": group,
            "class": event_class,
            "custom_details": dict(custom_details) if custom_details else None,
            "timestamp": timestamp.astimezone(UTC).isoformat() if timestamp else None,
        }
        payload |= {key: value for key, value in optional.items() if value is not None}
        body: dict[str, Any] = {
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": redact(payload, [self.routing_key, *secrets]),
        }
        if links:
            body["links"] = redact([dict(link) for link in links], [self.routing_key, *secrets])
        return self._send(body)

    def acknowledge(self, dedup_key: str) -> str:
        """Mark the open incident with ``dedup_key`` as being worked on."""
        return self._send({"event_action": "acknowledge", "dedup_key": dedup_key})

    def resolve(self, dedup_key: str) -> str:
        """Resolve the open incident with ``dedup_key`` (PagerDuty drops it when none is open)."""
        return self._send({"event_action": "resolve", "dedup_key": dedup_key})

    def _send(self, body: dict[str, Any]) -> str:
        event = {"routing_key": self.routing_key, **body}
        action = body["event_action"]

        def attempt() -> str:
            try:
                response = httpx.post(self.events_url, json=event, timeout=self.timeout_seconds)
            except httpx.TransportError as exc:
                raise _Retryable(f"network error ({type(exc).__name__})") from exc
            if response.status_code == 202:
                return str(response.json().get("dedup_key") or body.get("dedup_key"))
            reply = _json_or_empty(response)
            errors = [str(error) for error in reply.get("errors") or []]
            if response.status_code != 429 and response.status_code < 500:
                raise PagerDutyError(
                    f"PagerDuty refused the {action} event (HTTP {response.status_code}):"
                    f" {reply.get('message', '')} {errors}".rstrip(),
                    response.status_code,
                    errors,
                )
            raise _Retryable(f"HTTP {response.status_code}")

        def log_retry(state: RetryCallState) -> None:
            problem = state.outcome.exception() if state.outcome else None
            logger.warning(
                "PagerDuty %s event for %s failed (%s); retry %d/%d in %.1f s",
                action,
                body.get("dedup_key"),
                problem,
                state.attempt_number,
                self.max_attempts - 1,
                state.upcoming_sleep,
            )

        retrying = Retrying(
            stop=stop_after_attempt(max(1, self.max_attempts)),
            wait=wait_exponential(multiplier=self.backoff_seconds, max=MAX_BACKOFF_SECONDS),
            retry=retry_if_exception_type(_Retryable),
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Retryable as exc:
            raise PagerDutyError(
                f"PagerDuty {action} event failed after {self.max_attempts} attempts: {exc}",
                None,
            ) from None


class _Retryable(Exception):
    """An answer PagerDuty says to retry (HTTP 429 or 5xx) or no answer at all."""


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        parsed = response.json()
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def notifier_resources(
    *,
    slack_api_base_url: str = SLACK_API_URL,
    pagerduty_events_url: str = PAGERDUTY_EVENTS_URL,
) -> dict[str, dg.ConfigurableResource]:
    """The ``slack`` and ``pagerduty`` resources; secrets resolve from the environment at launch.

    URLs come from settings (``SLACK_API_BASE_URL``, ``PAGERDUTY_EVENTS_URL``), which default
    to the real vendors; ``SLACK_BOT_TOKEN`` and ``PAGERDUTY_ROUTING_KEY`` stay ``EnvVar`` so a
    missing one fails at launch, naming itself.
    """
    return {
        "slack": SlackNotifier(token=dg.EnvVar("SLACK_BOT_TOKEN"), base_url=slack_api_base_url),
        "pagerduty": PagerDutyNotifier(
            routing_key=dg.EnvVar("PAGERDUTY_ROUTING_KEY"), events_url=pagerduty_events_url
        ),
    }
