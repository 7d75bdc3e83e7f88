"""Alert decisions, all pure: what an alert says, where it goes, and how each vendor reads it.

An :class:`Alert` says what is wrong, where, since when, and links to the Dagster UI;
:func:`route` picks its destinations from the policy; :func:`format_slack_message`,
:func:`format_resolved_message` and :func:`pagerduty_trigger` render it; :func:`redact` scrubs
secrets from anything before it leaves the process.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, cast

from analytics_platform.alerts.policy import SEVERITIES, AlertingConfig, Severity

PagerDutySeverity = Literal["critical", "error", "warning", "info"]
JSONValue = str | int | float | bool | None

REDACTED = "[redacted]"
MAX_DEDUP_KEY_CHARS = 255
MAX_SUMMARY_CHARS = 1024
MAX_HEADER_CHARS = 150

# Slack tokens have a recognisable shape; scrub any that slipped into alert text, not only ours.
_SLACK_TOKEN = re.compile(r"\bxox[abprs]-[A-Za-z0-9-]+|\bxapp-[A-Za-z0-9-]+")


@dataclass(frozen=True)
class Alert:
    """Something a person should know about.

    Attributes:
        rule: The ``alerting.yaml`` rule that fired (``fivetran_sync_delay`` …).
        severity: ``warning`` or ``critical`` (see :func:`classify`).
        what: What is wrong, as a sentence a person reads first.
        where: The affected thing: an asset key path, a connector, a dbt model. Part of the
            PagerDuty dedup key, so keep it stable across evaluations of the same problem.
        since: When the problem started (timezone-aware).
        run_id: The Dagster run to link to, if any.
        asset_key: The asset to link to when there is no run.
        link: An explicit link; overrides the run and asset links.
        details: Extra facts (``{"delay_minutes": 47}``) shown in Slack and PagerDuty.
    """

    rule: str
    severity: Severity
    what: str
    where: str
    since: datetime
    run_id: str | None = None
    asset_key: tuple[str, ...] | None = None
    link: str | None = None
    details: Mapping[str, JSONValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse alerts that would mislead: an unknown severity or a time without a zone."""
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        if self.since.tzinfo is None:
            raise ValueError("Alert.since must be timezone-aware (UTC), got a naive datetime")


@dataclass(frozen=True)
class SlackDestination:
    """Post to this Slack channel."""

    channel: str


@dataclass(frozen=True)
class PagerDutyDestination:
    """Trigger (or fold into) the PagerDuty incident with this dedup key."""

    dedup_key: str
    severity: PagerDutySeverity


Destination = SlackDestination | PagerDutyDestination


def alert_link(alert: Alert, dagster_ui_url: str) -> str:
    """The Dagster UI page to open: the explicit link, the run, the asset, or the overview."""
    if alert.link:
        return alert.link
    base = dagster_ui_url.rstrip("/")
    if alert.run_id:
        return f"{base}/runs/{alert.run_id}"
    if alert.asset_key:
        return f"{base}/assets/{'/'.join(alert.asset_key)}"
    return f"{base}/overview"


def dedup_key(rule: str, where: str, config: AlertingConfig) -> str:
    """The PagerDuty dedup key of the problem ``rule`` at ``where``.

    The same problem always maps to the same key, so repeated triggers fold into one incident
    and :func:`clear` finds it. Keys past PagerDuty's 255 characters keep a readable prefix and
    end in a hash of the whole, so they stay unique.
    """
    key = config.dedup_key_template.format(rule=rule, where=where)
    if len(key) <= MAX_DEDUP_KEY_CHARS:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{key[: MAX_DEDUP_KEY_CHARS - 17]}#{digest}"


def route(alert: Alert, config: AlertingConfig) -> tuple[Destination, ...]:
    """Where ``alert`` goes: the rule's route if it has one, else the default per severity.

    By default a warning goes to Slack ``#data-alerts``; a critical alert goes there too, and
    pages through PagerDuty.
    """
    rule = config.rule(alert.rule)
    kinds = (rule.route or config.routing).get(alert.severity, ())
    destinations: list[Destination] = []
    for kind in kinds:
        if kind == "slack":
            destinations.append(SlackDestination(rule.slack_channel or config.slack_channel))
        else:
            destinations.append(
                PagerDutyDestination(dedup_key(alert.rule, alert.where, config), alert.severity)
            )
    return tuple(destinations)


@dataclass(frozen=True)
class SlackMessage:
    """A Slack message: ``text`` is the notification and screen-reader fallback of ``blocks``."""

    text: str
    blocks: list[dict[str, Any]]


def _mrkdwn_escape(text: str) -> str:
    # Slack reads &, < and > as control characters in mrkdwn.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _age(since: datetime, now: datetime) -> str:
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _since(alert: Alert, now: datetime) -> str:
    when = alert.since.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{when} ({_age(alert.since, now)} ago)"


def _header(text: str) -> dict[str, Any]:
    # Slack refuses a header block longer than MAX_HEADER_CHARS.
    if len(text) > MAX_HEADER_CHARS:
        text = text[: MAX_HEADER_CHARS - 1] + "…"
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def format_slack_message(
    alert: Alert, config: AlertingConfig, now: datetime | None = None
) -> SlackMessage:
    """Render ``alert`` for Slack: what, where, since when, and a link to the Dagster UI."""
    now = now or datetime.now(UTC)
    link = alert_link(alert, config.dagster_ui_url)
    icon = ":rotating_light:" if alert.severity == "critical" else ":warning:"
    label = alert.severity.upper()
    what, where = _mrkdwn_escape(alert.what), _mrkdwn_escape(alert.where)
    since = _since(alert, now)
    text = (
        f"{icon} *{label}*: {what}\n*Where:* `{where}`\n*Since:* {since}\n"
        f"*Dagster:* <{link}|open in Dagster>"
    )
    blocks: list[dict[str, Any]] = [
        _header(f"{label}: {alert.what}"),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Where*\n`{where}`"},
                {"type": "mrkdwn", "text": f"*Since*\n{since}"},
            ],
        },
    ]
    if alert.details:
        facts = "\n".join(
            f"• {_mrkdwn_escape(str(key))}: {_mrkdwn_escape(str(value))}"
            for key, value in alert.details.items()
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": facts}})
    blocks.extend(
        [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in Dagster"},
                        "url": link,
                    }
                ],
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"{icon} {label} · rule `{alert.rule}` · alerting.yaml",
                    }
                ],
            },
        ]
    )
    return SlackMessage(text=text, blocks=blocks)


def format_resolved_message(
    alert: Alert, config: AlertingConfig, now: datetime | None = None
) -> SlackMessage:
    """Render the end of ``alert``'s problem for Slack: what was wrong, where, for how long."""
    now = now or datetime.now(UTC)
    link = alert_link(alert, config.dagster_ui_url)
    what, where = _mrkdwn_escape(alert.what), _mrkdwn_escape(alert.where)
    lasted = _age(alert.since, now)
    text = (
        f":white_check_mark: *RESOLVED*: {what}\n*Where:* `{where}`\n"
        f"*Since:* {_since(alert, now)}; healthy again after {lasted}\n"
        f"*Dagster:* <{link}|open in Dagster>"
    )
    blocks: list[dict[str, Any]] = [
        _header(f"RESOLVED: {alert.what}"),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Where*\n`{where}`"},
                {"type": "mrkdwn", "text": f"*Lasted*\n{lasted}"},
            ],
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f":white_check_mark: resolved · rule `{alert.rule}` · <{link}|Dagster>",
                }
            ],
        },
    ]
    return SlackMessage(text=text, blocks=blocks)


@dataclass(frozen=True)
class PagerDutyTrigger:
    """The arguments of :meth:`PagerDutyNotifier.trigger` for one alert."""

    dedup_key: str
    summary: str
    severity: PagerDutySeverity
    source: str
    component: str
    group: str
    event_class: str
    links: tuple[Mapping[str, str], ...]
    custom_details: Mapping[str, JSONValue]
    timestamp: datetime


def pagerduty_trigger(
    alert: Alert, config: AlertingConfig, destination: PagerDutyDestination
) -> PagerDutyTrigger:
    """Render ``alert`` as a PagerDuty trigger event for ``destination``."""
    link = alert_link(alert, config.dagster_ui_url)
    summary = f"[{alert.severity}] {alert.what} ({alert.where})"
    return PagerDutyTrigger(
        dedup_key=destination.dedup_key,
        summary=summary[:MAX_SUMMARY_CHARS],
        severity=destination.severity,
        source=alert.where,
        component=config.rule(alert.rule).component,
        group=config.pagerduty_group,
        event_class=alert.rule,
        links=({"href": link, "text": "Open in Dagster"},),
        custom_details={
            "what": alert.what,
            "where": alert.where,
            "since": alert.since.astimezone(UTC).isoformat(),
            "rule": alert.rule,
            "dagster_link": link,
            **alert.details,
        },
        timestamp=alert.since,
    )


_T = TypeVar("_T")


def redact(value: _T, secrets: Iterable[str]) -> _T:
    """``value`` (a string, or lists and mappings of them) with every secret replaced.

    Replaces the given secrets and anything shaped like a Slack token, recursively.
    """
    words = sorted({secret for secret in secrets if secret}, key=len, reverse=True)

    def scrub(item: Any) -> Any:
        if isinstance(item, str):
            for word in words:
                item = item.replace(word, REDACTED)
            return _SLACK_TOKEN.sub(REDACTED, item)
        if isinstance(item, Mapping):
            return {scrub(key): scrub(inner) for key, inner in item.items()}
        if isinstance(item, list | tuple):
            return type(item)(scrub(inner) for inner in item)
        return item

    return cast(_T, scrub(value))
