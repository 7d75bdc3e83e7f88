"""Delivery: one alert to every destination its route names, and its all-clear afterwards.

:func:`dispatch` sends an alert everywhere :func:`~analytics_platform.alerts.render.route`
says, :func:`clear` resolves its incident once the problem is gone, and
:func:`dispatch_resolved` does both ends: the PagerDuty resolve and a "resolved" note in the
Slack channel the alert went to. None of them raises for one destination's failure, so a Slack
outage does not stop the page.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from slack_sdk.errors import SlackApiError

from analytics_platform.alerts.policy import AlertingConfig, DestinationKind
from analytics_platform.alerts.render import (
    Alert,
    Destination,
    PagerDutyDestination,
    SlackDestination,
    dedup_key,
    format_resolved_message,
    format_slack_message,
    pagerduty_trigger,
    redact,
    route,
)
from analytics_platform.alerts.vendors import PagerDutyError, PagerDutyNotifier, SlackNotifier

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """The outcome of sending one alert to one destination."""

    destination: Destination
    ok: bool
    detail: str


def dispatch(
    alert: Alert,
    config: AlertingConfig,
    *,
    slack: SlackNotifier | None,
    pagerduty: PagerDutyNotifier | None,
    now: datetime | None = None,
    only: Collection[DestinationKind] | None = None,
    secrets: Iterable[str] = (),
) -> tuple[Delivery, ...]:
    """Send ``alert`` to every destination :func:`route` picks; never raises for one failure.

    Each destination is tried even when another failed, so a Slack outage does not stop the
    page; the caller reads the deliveries (``all(d.ok for d in ...)``) and decides whether to
    try again on its next evaluation.

    Args:
        alert: What to send.
        config: Routes, channels, the dedup-key scheme.
        slack: Where Slack destinations go (None: reported as not delivered).
        pagerduty: Where PagerDuty destinations go (None: reported as not delivered).
        now: The time messages measure "since" against (default: the wall clock).
        only: Send only to these kinds of destination (a retry after a partial failure must
            not post twice to the channel that already got it); None sends everywhere.
        secrets: Further values to scrub besides the two resources' own secrets.
    """
    clean, secrets = _scrubbed(alert, slack, pagerduty, secrets)
    return tuple(
        _deliver(clean, config, destination, slack, pagerduty, secrets, now)
        for destination in route(clean, config)
        if only is None or _kind(destination) in only
    )


def _scrubbed(
    alert: Alert,
    slack: SlackNotifier | None,
    pagerduty: PagerDutyNotifier | None,
    secrets: Iterable[str],
) -> tuple[Alert, list[str]]:
    """``alert`` without any secret, and the secrets: the caller's and the resources' own.

    The alert itself is scrubbed, so neither channel can echo a secret a caller put in it.
    """
    hidden = [*secrets, *([slack.token] if slack is not None else [])]
    if pagerduty is not None:
        hidden.append(pagerduty.routing_key)
    clean = replace(
        alert,
        what=redact(alert.what, hidden),
        where=redact(alert.where, hidden),
        details=redact(dict(alert.details), hidden),
    )
    return clean, hidden


def _kind(destination: Destination) -> DestinationKind:
    return "slack" if isinstance(destination, SlackDestination) else "pagerduty"


def _deliver(
    alert: Alert,
    config: AlertingConfig,
    destination: Destination,
    slack: SlackNotifier | None,
    pagerduty: PagerDutyNotifier | None,
    secrets: Sequence[str],
    now: datetime | None,
) -> Delivery:
    try:
        if isinstance(destination, SlackDestination):
            if slack is None:
                return Delivery(destination, False, "no Slack resource configured")
            message = format_slack_message(alert, config, now)
            posted = slack.post(destination.channel, message.text, message.blocks, secrets=secrets)
            return Delivery(destination, True, f"posted {posted.ts} in {posted.channel}")
        if pagerduty is None:
            return Delivery(destination, False, "no PagerDuty resource configured")
        event = pagerduty_trigger(alert, config, destination)
        key = pagerduty.trigger(
            event.dedup_key,
            event.summary,
            event.severity,
            event.source,
            event.component,
            event.links,
            event.custom_details,
            group=event.group,
            event_class=event.event_class,
            timestamp=event.timestamp,
            secrets=secrets,
        )
        return Delivery(destination, True, f"triggered {key}")
    except SlackApiError as exc:
        problem = f"Slack error {exc.response.get('error', 'unknown')}"
    except PagerDutyError as exc:
        problem = str(exc)
    except Exception as exc:  # one broken destination must not silence the others
        problem = f"{type(exc).__name__}: {exc}"
    problem = redact(problem, secrets)
    logger.error(
        "alert %s (%s) not delivered to %s: %s", alert.rule, alert.where, destination, problem
    )
    return Delivery(destination, False, problem)


def clear(rule: str, where: str, config: AlertingConfig, pagerduty: PagerDutyNotifier) -> str:
    """Resolve the PagerDuty incident of ``rule`` at ``where`` once the problem is gone."""
    return pagerduty.resolve(dedup_key(rule, where, config))


def dispatch_resolved(
    alert: Alert,
    config: AlertingConfig,
    *,
    slack: SlackNotifier | None,
    pagerduty: PagerDutyNotifier | None,
    kinds: Collection[DestinationKind],
    now: datetime | None = None,
    secrets: Iterable[str] = (),
) -> tuple[Delivery, ...]:
    """Tell the destinations in ``kinds`` that ``alert``'s problem is gone; never raises.

    PagerDuty gets the resolve event of the alert's incident (:func:`clear`); Slack gets a
    short "resolved" note in the channel the alert went to, so whoever saw the alert sees its
    end. Only the kinds that were actually notified should be passed.
    """
    clean, hidden = _scrubbed(alert, slack, pagerduty, secrets)
    rule = config.rule(clean.rule)
    deliveries: list[Delivery] = []
    if "slack" in kinds:
        destination = SlackDestination(rule.slack_channel or config.slack_channel)
        try:
            if slack is None:
                deliveries.append(Delivery(destination, False, "no Slack resource configured"))
            else:
                message = format_resolved_message(clean, config, now)
                posted = slack.post(
                    destination.channel, message.text, message.blocks, secrets=hidden
                )
                deliveries.append(Delivery(destination, True, f"posted {posted.ts}"))
        except Exception as exc:  # the resolve of the page must still go out
            problem = redact(f"{type(exc).__name__}: {exc}", hidden)
            logger.error(
                "resolve of %s (%s) not posted to Slack: %s", clean.rule, clean.where, problem
            )
            deliveries.append(Delivery(destination, False, problem))
    if "pagerduty" in kinds:
        pager = PagerDutyDestination(dedup_key(clean.rule, clean.where, config), clean.severity)
        try:
            if pagerduty is None:
                deliveries.append(Delivery(pager, False, "no PagerDuty resource configured"))
            else:
                key = clear(clean.rule, clean.where, config, pagerduty)
                deliveries.append(Delivery(pager, True, f"resolved {key}"))
        except Exception as exc:  # reported to the caller, who retries on its next evaluation
            problem = redact(f"{type(exc).__name__}: {exc}", hidden)
            logger.error(
                "resolve of %s (%s) not sent to PagerDuty: %s", clean.rule, clean.where, problem
            )
            deliveries.append(Delivery(pager, False, problem))
    return tuple(deliveries)
