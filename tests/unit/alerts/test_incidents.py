"""One incident, one alert, one page; escalations re-send, the all-clear resolves, failures retry."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from analytics_platform.alerts.incidents import (
    alert_from_json,
    alert_to_json,
    reconcile,
)
from analytics_platform.notify import (
    Alert,
    AlertingConfig,
    DestinationKind,
    PagerDutyDestination,
    dispatch,
    dispatch_resolved,
    format_resolved_message,
    load_alerting_config,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WHERE = "fivetran/fivetran_postgres_bu_north"


@pytest.fixture(scope="module")
def config() -> AlertingConfig:
    return load_alerting_config(dagster_ui_url="http://dagster.test:3000")


@dataclass
class Recorder:
    """A notifier that records, and fails the kinds it is told to fail."""

    failing: set[str] = field(default_factory=set)
    sent: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    resolved: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def send(self, alert: Alert, kinds: Collection[DestinationKind]) -> set[DestinationKind]:
        self.sent.append((alert.where, alert.severity, tuple(kinds)))
        return {kind for kind in kinds if kind not in self.failing}

    def resolve(self, alert: Alert, kinds: Collection[DestinationKind]) -> set[DestinationKind]:
        self.resolved.append((alert.where, tuple(kinds)))
        return {kind for kind in kinds if kind not in self.failing}


def failure(severity: str, since: datetime = NOW, count: int = 1) -> Alert:
    return Alert(
        rule="fivetran_sync_failure",
        severity=severity,  # type: ignore[arg-type]
        what=f"failed {count} syncs",
        where=WHERE,
        since=since,
        details={"consecutive_failures": count},
    )


def test_new_problem_is_sent_once_and_repeats_are_silent(config: AlertingConfig) -> None:
    notifier = Recorder()
    incidents, summary = reconcile({}, {WHERE: failure("warning")}, config, notifier)
    assert notifier.sent == [(WHERE, "warning", ("slack",))]
    assert summary.sent == [(WHERE, "warning", ("slack",))] and summary.open == 1

    for _ in range(3):
        incidents, summary = reconcile(incidents, {WHERE: failure("warning")}, config, notifier)
    assert len(notifier.sent) == 1 and summary.sent == []


def test_escalation_pages_and_the_all_clear_resolves_where_it_was_announced(
    config: AlertingConfig,
) -> None:
    notifier = Recorder()
    incidents, _ = reconcile({}, {WHERE: failure("warning")}, config, notifier)
    later = NOW + timedelta(minutes=20)
    incidents, _ = reconcile(incidents, {WHERE: failure("critical", later, 3)}, config, notifier)
    assert notifier.sent[-1] == (WHERE, "critical", ("pagerduty", "slack"))
    # The incident keeps its first start through the escalation.
    assert alert_from_json(incidents[WHERE]["alert"]).since == NOW
    assert incidents[WHERE]["sent"] == {"slack": "critical", "pagerduty": "critical"}

    incidents, _ = reconcile(incidents, {WHERE: failure("critical", later, 4)}, config, notifier)
    assert len(notifier.sent) == 2  # no re-page

    incidents, summary = reconcile(incidents, {}, config, notifier)
    assert notifier.resolved == [(WHERE, ("pagerduty", "slack"))]
    assert incidents == {} and summary.resolved == [WHERE]


def test_a_failed_destination_is_retried_alone(config: AlertingConfig) -> None:
    notifier = Recorder(failing={"pagerduty"})
    incidents, _ = reconcile({}, {WHERE: failure("critical")}, config, notifier)
    assert incidents[WHERE]["sent"] == {"slack": "critical"}

    notifier.failing.clear()
    incidents, _ = reconcile(incidents, {WHERE: failure("critical")}, config, notifier)
    assert notifier.sent[-1] == (WHERE, "critical", ("pagerduty",))  # Slack is not posted twice
    assert incidents[WHERE]["sent"] == {"slack": "critical", "pagerduty": "critical"}

    notifier.failing.add("slack")
    incidents, _ = reconcile(incidents, {}, config, notifier)
    assert incidents[WHERE]["sent"] == {"slack": "critical"}  # the all-clear is retried
    notifier.failing.clear()
    incidents, _ = reconcile(incidents, {}, config, notifier)
    assert notifier.resolved[-1] == (WHERE, ("slack",)) and incidents == {}


def test_unknown_places_keep_their_incidents(config: AlertingConfig) -> None:
    notifier = Recorder()
    incidents, _ = reconcile({}, {WHERE: failure("critical")}, config, notifier)
    kept, summary = reconcile(incidents, {}, config, notifier, unknown={WHERE})
    assert kept == incidents and notifier.resolved == [] and summary.open == 1


def test_nothing_announced_means_nothing_to_resolve(config: AlertingConfig) -> None:
    notifier = Recorder(failing={"slack"})
    incidents, _ = reconcile({}, {WHERE: failure("warning")}, config, notifier)
    assert incidents[WHERE]["sent"] == {}
    incidents, _ = reconcile(incidents, {}, config, notifier)
    assert incidents == {} and notifier.resolved == []


def test_alerts_survive_the_cursor() -> None:
    alert = replace(failure("critical"), run_id="r1", asset_key=("fivetran", "x"), link=None)
    assert alert_from_json(alert_to_json(alert)) == alert


def test_dispatch_can_be_limited_to_the_destinations_still_owed(config: AlertingConfig) -> None:
    deliveries = dispatch(
        failure("critical"), config, slack=None, pagerduty=None, now=NOW, only={"pagerduty"}
    )
    assert [type(d.destination) for d in deliveries] == [PagerDutyDestination]
    assert not deliveries[0].ok


def test_the_all_clear_says_what_was_wrong_for_how_long_and_links(config: AlertingConfig) -> None:
    alert = replace(failure("critical", NOW - timedelta(minutes=95)), run_id="r-7")
    message = format_resolved_message(alert, config, now=NOW)
    assert message.text.startswith(":white_check_mark: *RESOLVED*: failed 1 syncs")
    assert f"`{WHERE}`" in message.text
    assert "healthy again after 1 h 35 min" in message.text
    assert "http://dagster.test:3000/runs/r-7" in message.text
    deliveries = dispatch_resolved(
        alert, config, slack=None, pagerduty=None, kinds=("slack", "pagerduty"), now=NOW
    )
    assert [d.ok for d in deliveries] == [False, False]
