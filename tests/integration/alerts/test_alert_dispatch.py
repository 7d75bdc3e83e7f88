"""One alert, routed and delivered end to end: Slack and PagerDuty stand-ins receive it."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from devstack.ports import free_port

from analytics_platform.notify import (
    Alert,
    AlertingConfig,
    PagerDutyNotifier,
    SlackDestination,
    SlackNotifier,
    clear,
    dispatch,
    load_alerting_config,
)
from tests.integration.alerts.conftest import StandIn

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def config() -> AlertingConfig:
    return load_alerting_config(dagster_ui_url="http://127.0.0.1:3999")


@pytest.fixture
def slack(slack_standin: StandIn) -> SlackNotifier:
    return SlackNotifier(token=slack_standin.secret, base_url=f"{slack_standin.root}/api/")


@pytest.fixture
def pagerduty(pagerduty_standin: StandIn) -> PagerDutyNotifier:
    return PagerDutyNotifier(
        routing_key=pagerduty_standin.secret,
        events_url=f"{pagerduty_standin.root}/v2/enqueue",
        backoff_seconds=0.01,
    )


def sync_failure(severity: str, **overrides: object) -> Alert:
    fields: dict = {
        "rule": "fivetran_sync_failure",
        "severity": severity,
        "what": "Fivetran connector fivetran_salesforce failed 3 syncs in a row",
        "where": "fivetran/fivetran_salesforce",
        "since": NOW - timedelta(minutes=47),
        "run_id": "3f1c2d",
        "details": {"consecutive_failures": 3},
    }
    return Alert(**(fields | overrides))  # type: ignore[arg-type]


def test_warning_goes_to_slack_only(
    config: AlertingConfig,
    slack: SlackNotifier,
    pagerduty: PagerDutyNotifier,
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    deliveries = dispatch(
        sync_failure("warning"), config, slack=slack, pagerduty=pagerduty, now=NOW
    )

    assert [d.ok for d in deliveries] == [True]
    [record] = slack_standin.recorded()["messages"]
    assert record["channel_name"] == "data-alerts"
    text = record["message"]["text"]
    assert "failed 3 syncs in a row" in text
    assert "fivetran/fivetran_salesforce" in text
    assert "2026-03-02 09:13 UTC (47 min ago)" in text
    assert "http://127.0.0.1:3999/runs/3f1c2d" in text
    assert pagerduty_standin.recorded()["events"] == []


def test_critical_pages_and_clear_resolves(
    config: AlertingConfig,
    slack: SlackNotifier,
    pagerduty: PagerDutyNotifier,
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    for _ in range(2):
        deliveries = dispatch(
            sync_failure("critical"), config, slack=slack, pagerduty=pagerduty, now=NOW
        )
        assert all(d.ok for d in deliveries), deliveries

    assert len(slack_standin.recorded()["messages"]) == 2
    [incident] = pagerduty_standin.recorded()["incidents"]
    assert incident["dedup_key"] == "fieldforce/fivetran_sync_failure/fivetran/fivetran_salesforce"
    assert incident["severity"] == "critical"
    assert incident["custom_details"]["dagster_link"] == "http://127.0.0.1:3999/runs/3f1c2d"

    clear("fivetran_sync_failure", "fivetran/fivetran_salesforce", config, pagerduty)

    [incident] = pagerduty_standin.recorded()["incidents"]
    assert incident["status"] == "resolved"


def test_one_failing_destination_does_not_stop_the_other(
    config: AlertingConfig,
    pagerduty: PagerDutyNotifier,
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    broken = SlackNotifier(token="xoxb-wrong-token", base_url=f"{slack_standin.root}/api/")

    slack_result, pager_result = dispatch(
        sync_failure("critical"), config, slack=broken, pagerduty=pagerduty, now=NOW
    )

    assert isinstance(slack_result.destination, SlackDestination)
    assert not slack_result.ok
    assert "invalid_auth" in slack_result.detail
    assert pager_result.ok
    assert len(pagerduty_standin.recorded()["incidents"]) == 1


def test_secrets_never_reach_messages_or_logs(
    config: AlertingConfig,
    slack: SlackNotifier,
    pagerduty: PagerDutyNotifier,
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    foreign_token = "xoxp-1111-2222-abcdefabcdef"
    careless = sync_failure(
        "critical",
        what=f"connect failed with token {slack.token} and key {pagerduty.routing_key}",
        details={"error": f"auth header Bearer {foreign_token}", "key": pagerduty.routing_key},
    )

    unreachable = PagerDutyNotifier(
        routing_key=pagerduty.routing_key,
        events_url=f"http://127.0.0.1:{free_port()}/v2/enqueue",
        max_attempts=2,
        backoff_seconds=0.01,
    )

    with caplog.at_level(logging.DEBUG):
        dispatch(careless, config, slack=slack, pagerduty=pagerduty, now=NOW)
        logging.getLogger("test").info("resources: %r %r", slack, pagerduty)
        failed = dispatch(
            careless,
            replace(config, slack_channel="#nowhere"),
            slack=slack,
            pagerduty=unreachable,
            now=NOW,
        )

    assert [d.ok for d in failed] == [False, False]
    assert "channel_not_found" in failed[0].detail
    slack_seen = json.dumps(slack_standin.recorded())
    pager_seen = json.dumps(pagerduty_standin.recorded())
    pager_file = (pagerduty_standin.home / "events.jsonl").read_text()
    slack_file = (slack_standin.home / "messages.jsonl").read_text()
    assert "[redacted]" in slack_seen
    assert "[redacted]" in pager_seen
    for secret in (slack.token, pagerduty.routing_key, foreign_token):
        for seen in (slack_seen, pager_seen, pager_file, slack_file, caplog.text):
            assert secret not in seen
        for delivery in failed:
            assert secret not in delivery.detail
