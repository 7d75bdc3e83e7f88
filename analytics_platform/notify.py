"""Notifications: decide who hears about a problem, say it plainly, and deliver it.

Three layers, each usable alone:

1. Policy: :func:`load_alerting_config` reads ``alerting.yaml`` (thresholds per the SDD alert
   matrix, channels, the PagerDuty dedup-key scheme); :func:`classify` turns a measured value
   into a severity.
2. Decisions, all pure: an :class:`Alert` says what is wrong, where, since when, and links to
   the Dagster UI; :func:`route` picks its destinations; :func:`format_slack_message` and
   :func:`pagerduty_trigger` render it.
3. Delivery: :class:`SlackNotifier` and :class:`PagerDutyNotifier` are Dagster resources that
   reach the vendors only through a base URL (the real one, or a loopback stand-in);
   :func:`dispatch` sends one alert everywhere :func:`route` says, and :func:`clear` resolves
   its incident once the problem is gone (:func:`dispatch_resolved` does both ends: the
   PagerDuty resolve and a "resolved" note in the Slack channel the alert went to).

A sensor therefore does: ``severity = classify(rule, value, config)``; if not None, build an
``Alert`` and ``dispatch(alert, config, slack=..., pagerduty=...)``; when the value is healthy
again, ``clear(rule, where, config, pagerduty)``. Secrets (the Slack token, the PagerDuty routing
key) are scrubbed from everything sent and never logged.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar, cast, get_args

import dagster as dg
import httpx
import yaml
from dagster_slack import SlackResource
from pydantic import Field
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from analytics_platform.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

Severity = Literal["warning", "critical"]
PagerDutySeverity = Literal["critical", "error", "warning", "info"]
DestinationKind = Literal["slack", "pagerduty"]
JSONValue = str | int | float | bool | None

SEVERITIES: tuple[Severity, ...] = get_args(Severity)
DESTINATION_KINDS: tuple[DestinationKind, ...] = get_args(DestinationKind)
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "alerting.yaml"
SLACK_API_URL = "https://slack.com/api/"
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
REDACTED = "[redacted]"
MAX_DEDUP_KEY_CHARS = 255
MAX_SUMMARY_CHARS = 1024
MAX_HEADER_CHARS = 150

# Slack tokens have a recognisable shape; scrub any that slipped into alert text, not only ours.
_SLACK_TOKEN = re.compile(r"\bxox[abprs]-[A-Za-z0-9-]+|\bxapp-[A-Za-z0-9-]+")


class AlertingConfigError(ValueError):
    """``alerting.yaml`` is missing a key, has an unknown one, or holds a bad value."""


class PagerDutyError(RuntimeError):
    """PagerDuty refused an event, or kept failing after every retry."""

    def __init__(self, message: str, status: int | None, errors: Sequence[str] = ()) -> None:
        """Keep the HTTP status and the API's error list for callers and logs."""
        super().__init__(message)
        self.status = status
        self.errors = tuple(errors)


# --- policy: alerting.yaml ---------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    """A numeric condition: ``above`` is strict (``> 30 min``), ``at_least`` is not (``3 failures``)."""

    above: float | None = None
    at_least: float | None = None

    def met(self, value: float | str) -> bool:
        """Whether ``value`` crosses this threshold."""
        if isinstance(value, str):
            raise TypeError(f"a threshold needs a number, got {value!r}")
        if self.above is not None:
            return value > self.above
        return self.at_least is not None and value >= self.at_least


@dataclass(frozen=True)
class Categories:
    """A categorical condition: the value (a dbt layer, a test severity…) is one of these."""

    values: frozenset[str]

    def met(self, value: float | str) -> bool:
        """Whether ``value`` is one of the categories."""
        return str(value) in self.values


Condition = Threshold | Categories


@dataclass(frozen=True)
class Rule:
    """One row of the alert matrix: a metric, its warning and critical conditions, its route."""

    name: str
    component: str
    metric: str
    warning: Condition | None
    critical: Condition | None
    otherwise: Severity | None = None
    route: Mapping[Severity, tuple[DestinationKind, ...]] | None = None
    slack_channel: str | None = None


@dataclass(frozen=True)
class AlertingConfig:
    """The typed contents of ``alerting.yaml``."""

    dagster_ui_url: str
    slack_channel: str
    dedup_key_template: str
    pagerduty_group: str
    routing: Mapping[Severity, tuple[DestinationKind, ...]]
    rules: Mapping[str, Rule]

    def rule(self, name: str) -> Rule:
        """The rule called ``name``; the error lists the known ones, since a typo is likely."""
        try:
            return self.rules[name]
        except KeyError:
            known = ", ".join(sorted(self.rules))
            raise KeyError(f"no alert rule {name!r} in alerting.yaml (known: {known})") from None


def _take(data: Mapping[str, Any], where: str, allowed: Iterable[str]) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise AlertingConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    unknown = set(data) - set(allowed)
    if unknown:
        raise AlertingConfigError(f"{where}: unknown key(s) {sorted(unknown)}")
    return dict(data)


def _required_str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise AlertingConfigError(f"{where}.{key}: required, a non-empty string")
    return value


def _parse_condition(raw: Any, where: str) -> Condition | None:
    if raw is None:
        return None
    data = _take(raw, where, ("above", "at_least", "in"))
    if len(data) != 1:
        raise AlertingConfigError(f"{where}: give exactly one of above, at_least, in")
    (kind, value), *_ = data.items()
    if kind == "in":
        if not isinstance(value, list) or not value:
            raise AlertingConfigError(f"{where}.in: a non-empty list")
        return Categories(frozenset(str(item) for item in value))
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AlertingConfigError(f"{where}.{kind}: a number, got {value!r}")
    return Threshold(**{kind: float(value)})


def _parse_severity(raw: Any, where: str) -> Severity | None:
    if raw is None or raw in SEVERITIES:
        return cast(Severity | None, raw)
    raise AlertingConfigError(f"{where}: one of {list(SEVERITIES)} or null, got {raw!r}")


def _parse_routing(raw: Any, where: str) -> dict[Severity, tuple[DestinationKind, ...]]:
    data = _take(raw, where, SEVERITIES)
    routing: dict[Severity, tuple[DestinationKind, ...]] = {}
    for severity in SEVERITIES:
        kinds = data.get(severity, [])
        if not isinstance(kinds, list) or any(kind not in DESTINATION_KINDS for kind in kinds):
            raise AlertingConfigError(
                f"{where}.{severity}: a list of {list(DESTINATION_KINDS)}, got {kinds!r}"
            )
        routing[severity] = tuple(kinds)
    return routing


def _parse_rule(name: str, raw: Any) -> Rule:
    where = f"rules.{name}"
    data = _take(
        raw,
        where,
        ("component", "metric", "warning", "critical", "otherwise", "route", "slack_channel"),
    )
    warning = _parse_condition(data.get("warning"), f"{where}.warning")
    critical = _parse_condition(data.get("critical"), f"{where}.critical")
    otherwise = _parse_severity(data.get("otherwise"), f"{where}.otherwise")
    if warning is None and critical is None and otherwise is None:
        raise AlertingConfigError(f"{where}: needs a warning or a critical condition")
    channel = data.get("slack_channel")
    if channel is not None and not isinstance(channel, str):
        raise AlertingConfigError(f"{where}.slack_channel: a string")
    return Rule(
        name=name,
        component=_required_str(data, "component", where),
        metric=_required_str(data, "metric", where),
        warning=warning,
        critical=critical,
        otherwise=otherwise,
        route=_parse_routing(data["route"], f"{where}.route") if "route" in data else None,
        slack_channel=channel,
    )


def parse_alerting_config(
    data: Mapping[str, Any], *, dagster_ui_url: str | None = None
) -> AlertingConfig:
    """Validate the parsed YAML ``data``; ``dagster_ui_url`` overrides the file's default."""
    top = _take(
        data,
        "alerting.yaml",
        ("version", "dagster_ui_url", "slack", "pagerduty", "routing", "rules"),
    )
    if top.get("version") != 1:
        raise AlertingConfigError(f"alerting.yaml: version must be 1, got {top.get('version')!r}")
    slack = _take(top.get("slack") or {}, "slack", ("channel",))
    pagerduty = _take(top.get("pagerduty") or {}, "pagerduty", ("dedup_key", "group"))
    template = _required_str(pagerduty, "dedup_key", "pagerduty")
    if "{rule}" not in template or "{where}" not in template:
        raise AlertingConfigError("pagerduty.dedup_key: must contain {rule} and {where}")
    rules_raw = top.get("rules")
    if not isinstance(rules_raw, Mapping) or not rules_raw:
        raise AlertingConfigError("rules: required, a mapping of rule name to rule")
    return AlertingConfig(
        dagster_ui_url=(dagster_ui_url or _required_str(top, "dagster_ui_url", "alerting.yaml")),
        slack_channel=_required_str(slack, "channel", "slack"),
        dedup_key_template=template,
        pagerduty_group=_required_str(pagerduty, "group", "pagerduty"),
        routing=_parse_routing(top.get("routing"), "routing"),
        rules={name: _parse_rule(str(name), raw) for name, raw in rules_raw.items()},
    )


def load_alerting_config(
    path: Path | None = None, *, dagster_ui_url: str | None = None
) -> AlertingConfig:
    """Load ``alerting.yaml`` (default: the repository's) into an :class:`AlertingConfig`.

    Args:
        path: The file to read; the repository's ``alerting.yaml`` when None.
        dagster_ui_url: The Dagster UI base URL for links (settings pass ``DAGSTER_UI_URL``);
            the file's ``dagster_ui_url`` when None.
    """
    path = path or DEFAULT_CONFIG_PATH
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise AlertingConfigError(f"cannot read {path}: {exc}") from exc
    return parse_alerting_config(data or {}, dagster_ui_url=dagster_ui_url)


def classify(rule_name: str, value: float | str, config: AlertingConfig) -> Severity | None:
    """The severity of measuring ``value`` for ``rule_name``, or None when nothing is wrong.

    Critical wins over warning, so one call covers both thresholds of a row.
    """
    rule = config.rule(rule_name)
    if rule.critical is not None and rule.critical.met(value):
        return "critical"
    if rule.warning is not None and rule.warning.met(value):
        return "warning"
    if isinstance(rule.warning or rule.critical, Categories):
        return rule.otherwise
    return None


# --- decisions: alerts, routes, messages -------------------------------------------------


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
    header = f"{label}: {alert.what}"
    if len(header) > MAX_HEADER_CHARS:
        header = header[: MAX_HEADER_CHARS - 1] + "…"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
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
    header = f"RESOLVED: {alert.what}"
    if len(header) > MAX_HEADER_CHARS:
        header = header[: MAX_HEADER_CHARS - 1] + "…"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
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


# --- delivery: Dagster resources ---------------------------------------------------------


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
        default=1.0, description="Wait before the first retry; doubles per retry, up to 30 s."
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
        last_problem = "no attempt made"
        for attempt in range(1, max(1, self.max_attempts) + 1):
            try:
                response = httpx.post(self.events_url, json=event, timeout=self.timeout_seconds)
            except httpx.TransportError as exc:
                last_problem = f"network error ({type(exc).__name__})"
            else:
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
                last_problem = f"HTTP {response.status_code}"
            if attempt < self.max_attempts:
                delay = min(30.0, self.backoff_seconds * 2 ** (attempt - 1))
                logger.warning(
                    "PagerDuty %s event for %s failed (%s); retry %d/%d in %.1f s",
                    action,
                    body.get("dedup_key"),
                    last_problem,
                    attempt,
                    self.max_attempts - 1,
                    delay,
                )
                time.sleep(delay)
        raise PagerDutyError(
            f"PagerDuty {action} event failed after {self.max_attempts} attempts: {last_problem}",
            None,
        )


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        parsed = response.json()
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


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
    secrets = [*secrets, *([slack.token] if slack is not None else [])]
    if pagerduty is not None:
        secrets.append(pagerduty.routing_key)
    # Scrub the alert itself, so neither channel can echo a secret a caller put in it.
    clean = replace(
        alert,
        what=redact(alert.what, secrets),
        where=redact(alert.where, secrets),
        details=redact(dict(alert.details), secrets),
    )
    return tuple(
        _deliver(clean, config, destination, slack, pagerduty, secrets, now)
        for destination in route(clean, config)
        if only is None or _kind(destination) in only
    )


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
    hidden = [*secrets, *([slack.token] if slack is not None else [])]
    if pagerduty is not None:
        hidden.append(pagerduty.routing_key)
    clean = replace(
        alert,
        what=redact(alert.what, hidden),
        where=redact(alert.where, hidden),
        details=redact(dict(alert.details), hidden),
    )
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
