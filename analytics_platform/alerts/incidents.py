"""Incidents: one alert per problem, one page per incident, and an all-clear when it is over.

Every alert sensor does the same three things each tick: measure the problems of its row of the
alert matrix (``{where: Alert}``), compare them with the incidents it already told people about,
and say only what changed. :func:`reconcile` is that comparison, kept pure so a unit test can
drive it tick by tick:

* a new problem is dispatched to every destination its severity routes to;
* the same problem on a later tick sends nothing (no re-post, no re-page);
* a problem that escalates (warning → critical) goes out again, now paging;
* a problem that is gone is resolved where it was announced: the PagerDuty incident gets its
  resolve event, the Slack channel a short "resolved" note;
* a destination that failed is retried on the next tick, alone, so a PagerDuty outage neither
  loses the page nor repeats the Slack post.

The incidents live in the sensor's JSON cursor, so they survive daemon restarts without any
storage of their own. :func:`build_alert_sensor` wraps a row's measurement into such a sensor.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

import dagster as dg

from analytics_platform.alerts.deliver import dispatch, dispatch_resolved
from analytics_platform.alerts.policy import AlertingConfig, DestinationKind
from analytics_platform.alerts.render import Alert, SlackDestination, redact, route
from analytics_platform.alerts.vendors import PagerDutyNotifier, SlackNotifier
from analytics_platform.ingest.checks import Clock, parse_time, utc_now

SEVERITY_RANK = {None: 0, "warning": 1, "critical": 2}

SECRET_ENV_VARS = (
    "FIVETRAN_API_KEY",
    "FIVETRAN_API_SECRET",
    "FIVETRAN_WEBHOOK_SECRET",
    "SLACK_BOT_TOKEN",
    "PAGERDUTY_ROUTING_KEY",
    "SNOWFLAKE_PASSWORD",
    "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE",
)
"""Secrets the platform is configured with: scrubbed from every alert, whatever put them there
(an error message quoting a connection string, a vendor echoing a credential)."""


def known_secrets() -> list[str]:
    """The values of :data:`SECRET_ENV_VARS` that are set, resolved the way resources do."""
    values = (dg.EnvVar(name).get_value() for name in SECRET_ENV_VARS)
    return [value for value in values if value]


def scrub(alert: Alert, secrets: Iterable[str]) -> Alert:
    """``alert`` with every secret replaced in what it says (its ``where`` is kept as a key)."""
    hidden = list(secrets)
    return replace(
        alert,
        what=redact(alert.what, hidden),
        details=redact(dict(alert.details), hidden),
    )


def alert_to_json(alert: Alert) -> dict[str, Any]:
    """An alert as it is kept in a sensor cursor."""
    return {
        "rule": alert.rule,
        "severity": alert.severity,
        "what": alert.what,
        "where": alert.where,
        "since": alert.since.isoformat(),
        "run_id": alert.run_id,
        "asset_key": list(alert.asset_key) if alert.asset_key else None,
        "link": alert.link,
        "details": dict(alert.details),
    }


def alert_from_json(data: Mapping[str, Any]) -> Alert:
    """The alert :func:`alert_to_json` kept."""
    since = parse_time(data["since"])
    if since is None:
        raise ValueError(f"alert without a time in a sensor cursor: {data!r}")
    return Alert(
        rule=data["rule"],
        severity=data["severity"],
        what=data["what"],
        where=data["where"],
        since=since,
        run_id=data.get("run_id"),
        asset_key=tuple(data["asset_key"]) if data.get("asset_key") else None,
        link=data.get("link"),
        details=data.get("details") or {},
    )


class Notifier(Protocol):
    """Where :func:`reconcile` sends: the real one delivers, a test's records."""

    def send(self, alert: Alert, kinds: Collection[DestinationKind]) -> set[DestinationKind]:
        """Send ``alert`` to the destinations of these kinds; return the kinds that got it."""
        ...

    def resolve(self, alert: Alert, kinds: Collection[DestinationKind]) -> set[DestinationKind]:
        """Announce the end of ``alert``'s problem; return the kinds that got the news."""
        ...


@dataclass(frozen=True)
class DeliveringNotifier:
    """The production :class:`Notifier`: Slack and PagerDuty through :mod:`.deliver`."""

    config: AlertingConfig
    slack: SlackNotifier | None
    pagerduty: PagerDutyNotifier | None
    now: datetime
    secrets: tuple[str, ...] = ()

    def send(self, alert: Alert, kinds: Collection[DestinationKind]) -> set[DestinationKind]:
        """Dispatch to ``kinds`` only; a failed destination is reported, not raised."""
        deliveries = dispatch(
            alert,
            self.config,
            slack=self.slack,
            pagerduty=self.pagerduty,
            now=self.now,
            only=kinds,
            secrets=self.secrets,
        )
        return {_kind(delivery.destination) for delivery in deliveries if delivery.ok}

    def resolve(self, alert: Alert, kinds: Collection[DestinationKind]) -> set[DestinationKind]:
        """Resolve the page and post the all-clear where the alert went."""
        deliveries = dispatch_resolved(
            alert,
            self.config,
            slack=self.slack,
            pagerduty=self.pagerduty,
            kinds=kinds,
            now=self.now,
            secrets=self.secrets,
        )
        return {_kind(delivery.destination) for delivery in deliveries if delivery.ok}


def _kind(destination: object) -> DestinationKind:
    return "slack" if isinstance(destination, SlackDestination) else "pagerduty"


@dataclass
class TickSummary:
    """What one reconciliation did, for the sensor's tick message and for tests."""

    sent: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    open: int = 0

    def text(self) -> str:
        """One line for the tick history in the UI."""
        sent = ", ".join(
            f"{where} ({severity} → {'+'.join(kinds)})" for where, severity, kinds in self.sent
        )
        parts = [f"{self.open} open incident(s)"]
        if sent:
            parts.append(f"sent: {sent}")
        if self.resolved:
            parts.append(f"resolved: {', '.join(self.resolved)}")
        return "; ".join(parts)


def reconcile(
    incidents: Mapping[str, Any],
    problems: Mapping[str, Alert],
    config: AlertingConfig,
    notifier: Notifier,
    unknown: Iterable[str] = (),
) -> tuple[dict[str, Any], TickSummary]:
    """Announce what changed between the known ``incidents`` and this tick's ``problems``.

    Args:
        incidents: The previous tick's incidents (``where -> {"alert", "sent"}``), from the
            cursor; ``sent`` maps a destination kind to the severity it last received.
        problems: This tick's problems, keyed by the alert's ``where``.
        config: Routes per severity.
        notifier: Sends and resolves.
        unknown: Places this tick could not measure (an API error): their incidents stay as
            they are, neither resolved nor re-sent.

    Returns:
        The incidents to keep in the cursor, and what was done.
    """
    kept: dict[str, Any] = {where: dict(entry) for where, entry in incidents.items()}
    summary = TickSummary()
    for where, alert in sorted(problems.items()):
        entry = kept.get(where)
        sent: dict[str, str] = dict(entry["sent"]) if entry else {}
        if entry:
            # One incident, one start: a later tick's measurement does not move "since".
            earlier = alert_from_json(entry["alert"]).since
            alert = replace(alert, since=min(earlier, alert.since))
        wanted = {_kind(destination) for destination in route(alert, config)}
        todo = sorted(
            kind for kind in wanted if SEVERITY_RANK[sent.get(kind)] < SEVERITY_RANK[alert.severity]
        )
        if todo:
            delivered = notifier.send(alert, todo)
            sent |= {kind: alert.severity for kind in delivered}
            if delivered:
                summary.sent.append((where, alert.severity, tuple(sorted(delivered))))
        kept[where] = {"alert": alert_to_json(alert), "sent": sent}
    skip = set(problems) | set(unknown)
    for where in sorted(set(kept) - skip):
        entry = kept[where]
        pending: set[DestinationKind] = set(entry["sent"])
        done = (
            notifier.resolve(alert_from_json(entry["alert"]), sorted(pending)) if pending else set()
        )
        if done:
            summary.resolved.append(where)
        left = pending - done
        if left:
            entry["sent"] = {kind: entry["sent"][kind] for kind in sorted(left)}
        else:
            del kept[where]
    summary.open = len(kept)
    return kept, summary


@dataclass
class Findings:
    """One tick's measurement of a row of the alert matrix.

    Attributes:
        problems: What is wrong now, keyed by ``Alert.where``.
        unknown: Places that could not be measured this tick (keep their incidents as they are).
        state: What the row needs to remember until the next tick (consecutive failures, an
            event-log cursor …); JSON-serialisable.
    """

    problems: dict[str, Alert] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)
    state: dict[str, Any] = field(default_factory=dict)


Measure = Callable[[dg.SensorEvaluationContext, dict[str, Any], datetime], Findings]


def build_alert_sensor(
    name: str,
    description: str,
    measure: Measure,
    config: AlertingConfig,
    *,
    clock: Clock = utc_now,
    minimum_interval_seconds: int = 30,
    required_resource_keys: Iterable[str] = (),
) -> dg.SensorDefinition:
    """A sensor (running by default) that measures one row of the matrix and reconciles.

    Its JSON cursor is ``{"watch": <the row's own state>, "incidents": <see reconcile>}``.
    """

    @dg.sensor(
        name=name,
        description=description,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        required_resource_keys={"slack", "pagerduty", *required_resource_keys},
    )
    def alert_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        state: dict[str, Any] = json.loads(context.cursor) if context.cursor else {}
        now = clock()
        secrets = tuple(known_secrets())
        findings = measure(context, dict(state.get("watch") or {}), now)
        # Scrub before anything is kept or sent: a vendor's error text can quote a credential,
        # and the cursor is stored in the instance as much as the message is posted.
        problems = {where: scrub(alert, secrets) for where, alert in findings.problems.items()}
        notifier = DeliveringNotifier(
            config, context.resources.slack, context.resources.pagerduty, now, secrets
        )
        incidents, summary = reconcile(
            state.get("incidents") or {}, problems, config, notifier, findings.unknown
        )
        cursor = redact({"watch": findings.state, "incidents": incidents}, secrets)
        return dg.SensorResult(
            skip_reason=redact(summary.text(), secrets),
            cursor=json.dumps(cursor, sort_keys=True, default=str),
        )

    return alert_sensor
