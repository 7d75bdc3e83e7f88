"""Alert messages say what, where, since when, and link to Dagster; they never carry secrets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from analytics_platform.notify import (
    Alert,
    AlertingConfig,
    PagerDutyDestination,
    PagerDutyNotifier,
    SlackNotifier,
    alert_link,
    format_slack_message,
    load_alerting_config,
    notifier_resources,
    pagerduty_trigger,
    redact,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def config() -> AlertingConfig:
    return load_alerting_config(dagster_ui_url="http://dagster.local:3000/")


def delay_alert(**overrides: object) -> Alert:
    fields: dict = {
        "rule": "fivetran_sync_delay",
        "severity": "warning",
        "what": "Sync of fivetran_salesforce is 47 min late",
        "where": "fivetran/fivetran_salesforce/account",
        "since": NOW - timedelta(hours=2, minutes=5),
        "asset_key": ("fivetran", "fivetran_salesforce", "account"),
        "details": {"delay_minutes": 47},
    }
    return Alert(**(fields | overrides))


def test_slack_message_says_what_where_since_and_links(config: AlertingConfig) -> None:
    message = format_slack_message(delay_alert(), config, now=NOW)

    assert message.text.startswith(
        ":warning: *WARNING*: Sync of fivetran_salesforce is 47 min late"
    )
    assert "*Where:* `fivetran/fivetran_salesforce/account`" in message.text
    assert "*Since:* 2026-03-02 09:55 UTC (2 h 5 min ago)" in message.text
    link = "http://dagster.local:3000/assets/fivetran/fivetran_salesforce/account"
    assert f"<{link}|open in Dagster>" in message.text
    kinds = [block["type"] for block in message.blocks]
    assert kinds == ["header", "section", "section", "actions", "context"]
    assert message.blocks[3]["elements"][0]["url"] == link
    assert "delay_minutes: 47" in message.blocks[2]["text"]["text"]


def test_links_prefer_explicit_then_run_then_asset(config: AlertingConfig) -> None:
    ui = config.dagster_ui_url
    assert alert_link(delay_alert(link="http://x/y"), ui) == "http://x/y"
    assert alert_link(delay_alert(run_id="r1"), ui) == "http://dagster.local:3000/runs/r1"
    assert alert_link(delay_alert(asset_key=None), ui) == "http://dagster.local:3000/overview"


def test_slack_text_is_escaped_and_the_header_fits(config: AlertingConfig) -> None:
    message = format_slack_message(
        delay_alert(what="a < b & " + "x" * 200, severity="critical"), config, now=NOW
    )

    assert "a &lt; b &amp; " in message.text
    assert message.text.startswith(":rotating_light: *CRITICAL*")
    assert len(message.blocks[0]["text"]["text"]) == 150


def test_pagerduty_trigger_carries_the_same_facts(config: AlertingConfig) -> None:
    destination = PagerDutyDestination("fieldforce/fivetran_sync_delay/x", "critical")

    event = pagerduty_trigger(delay_alert(severity="critical"), config, destination)

    assert event.summary == (
        "[critical] Sync of fivetran_salesforce is 47 min late (fivetran/fivetran_salesforce/account)"
    )
    assert event.component == "fivetran"
    assert event.event_class == "fivetran_sync_delay"
    assert event.custom_details["since"] == "2026-03-02T09:55:00+00:00"
    assert event.custom_details["delay_minutes"] == 47
    assert event.links[0]["href"].startswith("http://dagster.local:3000/assets/")


def test_alerts_refuse_naive_times_and_unknown_severities() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        delay_alert(since=datetime(2026, 3, 2, 9, 0))
    with pytest.raises(ValueError, match="severity"):
        delay_alert(severity="sev1")


def test_redact_scrubs_known_secrets_and_slack_shaped_tokens() -> None:
    value = {
        "text": "token xoxb-123-456-abc and key 0123456789abcdef0123456789abcdef",
        "list": ["xapp-1-A0-9", ("routing 0123456789abcdef0123456789abcdef",)],
        "n": 3,
    }

    clean = redact(value, ["0123456789abcdef0123456789abcdef"])

    assert clean == {
        "text": "token [redacted] and key [redacted]",
        "list": ["[redacted]", ("routing [redacted]",)],
        "n": 3,
    }


def test_resources_never_show_their_secrets() -> None:
    slack = SlackNotifier(token="xoxb-very-secret")
    pager = PagerDutyNotifier(routing_key="k" * 32)

    for text in (repr(slack), str(slack), repr(pager), str(pager)):
        assert "very-secret" not in text
        assert "k" * 32 not in text


def test_notifier_resources_default_to_the_real_vendors_and_env_secrets() -> None:
    resources = notifier_resources()

    assert isinstance(resources["slack"], SlackNotifier)
    assert resources["slack"].base_url == "https://slack.com/api/"
    assert resources["pagerduty"].events_url == "https://events.pagerduty.com/v2/enqueue"
    # Secrets are EnvVar references resolved at launch, not values read at import.
    assert dg.Definitions(resources=resources).resources["slack"] is resources["slack"]
