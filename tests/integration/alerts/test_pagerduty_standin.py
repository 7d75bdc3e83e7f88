"""The platform's PagerDutyNotifier against the PagerDuty Events API v2 stand-in."""

from __future__ import annotations

import httpx
import pytest
from devstack.ports import free_port

from analytics_platform.notify import PagerDutyError, PagerDutyNotifier
from tests.integration.alerts.conftest import StandIn


def notifier(standin: StandIn, **overrides: object) -> PagerDutyNotifier:
    return PagerDutyNotifier(
        routing_key=standin.secret,
        events_url=f"{standin.root}/v2/enqueue",
        backoff_seconds=0.01,
        **overrides,
    )


def trigger(pager: PagerDutyNotifier, key: str = "fieldforce/test/where") -> str:
    return pager.trigger(
        key,
        "Fivetran sync failed 3 times",
        "critical",
        "fivetran/fivetran_salesforce",
        component="fivetran",
        links=[{"href": "http://127.0.0.1:3000/runs/abc", "text": "Open in Dagster"}],
        custom_details={"consecutive_failures": 3},
    )


def test_trigger_opens_one_incident(pagerduty_standin: StandIn) -> None:
    key = trigger(notifier(pagerduty_standin))

    assert key == "fieldforce/test/where"
    [incident] = pagerduty_standin.recorded()["incidents"]
    assert incident["status"] == "triggered"
    assert incident["severity"] == "critical"
    assert incident["title"] == "Fivetran sync failed 3 times"
    assert incident["links"][0]["href"].endswith("/runs/abc")


def test_same_dedup_key_folds_into_the_open_incident(pagerduty_standin: StandIn) -> None:
    pager = notifier(pagerduty_standin)

    trigger(pager)
    trigger(pager)

    [incident] = pagerduty_standin.recorded()["incidents"]
    assert incident["event_count"] == 2


def test_resolve_closes_and_a_later_trigger_opens_a_new_incident(
    pagerduty_standin: StandIn,
) -> None:
    pager = notifier(pagerduty_standin)
    trigger(pager)
    pager.acknowledge("fieldforce/test/where")

    pager.resolve("fieldforce/test/where")
    pager.resolve("fieldforce/test/where")

    [incident] = pagerduty_standin.recorded()["incidents"]
    assert incident["status"] == "resolved"
    assert incident["acknowledged_at"] is not None
    outcomes = [event["outcome"] for event in pagerduty_standin.recorded()["events"]]
    assert outcomes[-1].startswith("dropped")
    trigger(pager)
    statuses = [i["status"] for i in pagerduty_standin.recorded()["incidents"]]
    assert statuses == ["resolved", "triggered"]


@pytest.mark.parametrize(
    ("body", "expected_error"),
    [
        ({"event_action": "trigger"}, "'routing_key' is missing or blank"),
        ({"routing_key": "KEY", "event_action": "explode"}, "'event_action' is invalid"),
        ({"routing_key": "KEY", "event_action": "trigger"}, "'payload' is missing or blank"),
        (
            {
                "routing_key": "KEY",
                "event_action": "trigger",
                "payload": {"summary": "s", "source": "x", "severity": "fatal"},
            },
            "'payload.severity' is invalid",
        ),
        (
            {"routing_key": "KEY", "event_action": "trigger", "payload": {"summary": "s"}},
            "'payload.source' is missing or blank",
        ),
        ({"routing_key": "KEY", "event_action": "resolve"}, "'dedup_key' is missing or blank"),
        (
            {"routing_key": "not-the-key", "event_action": "resolve", "dedup_key": "k"},
            "Invalid routing key",
        ),
    ],
)
def test_invalid_event_is_400_with_errors(
    pagerduty_standin: StandIn, body: dict, expected_error: str
) -> None:
    if body.get("routing_key") == "KEY":
        body = body | {"routing_key": pagerduty_standin.secret}

    reply = httpx.post(f"{pagerduty_standin.root}/v2/enqueue", json=body, timeout=5)

    assert reply.status_code == 400
    answer = reply.json()
    assert answer["status"] == "invalid event"
    assert answer["message"] == "Event object is invalid"
    assert any(error.startswith(expected_error) for error in answer["errors"]), answer
    assert pagerduty_standin.recorded()["incidents"] == []


def test_trigger_without_dedup_key_gets_one(pagerduty_standin: StandIn) -> None:
    reply = httpx.post(
        f"{pagerduty_standin.root}/v2/enqueue",
        json={
            "routing_key": pagerduty_standin.secret,
            "event_action": "trigger",
            "payload": {"summary": "s", "source": "x", "severity": "info"},
        },
        timeout=5,
    )

    assert reply.status_code == 202
    answer = reply.json()
    assert answer["status"] == "success"
    assert answer["message"] == "Event processed"
    assert len(answer["dedup_key"]) == 32


def test_notifier_raises_at_once_on_400(pagerduty_standin: StandIn) -> None:
    pager = notifier(pagerduty_standin)

    with pytest.raises(PagerDutyError) as caught:
        pager.trigger("k", "", "critical", "src")

    assert caught.value.status == 400
    assert "'payload.summary' is missing or blank" in caught.value.errors
    assert len(pagerduty_standin.recorded()["events"]) == 1


def test_notifier_retries_429_and_5xx(pagerduty_standin: StandIn) -> None:
    pagerduty_standin.inject(status=429, count=2)

    trigger(notifier(pagerduty_standin))

    assert len(pagerduty_standin.recorded()["incidents"]) == 1
    pagerduty_standin.inject(status=503, count=5)
    with pytest.raises(PagerDutyError, match="after 3 attempts: HTTP 503"):
        notifier(pagerduty_standin, max_attempts=3).resolve("fieldforce/test/where")


def test_notifier_gives_up_on_an_unreachable_service() -> None:
    pager = PagerDutyNotifier(
        routing_key="k" * 32,
        events_url=f"http://127.0.0.1:{free_port()}/v2/enqueue",
        max_attempts=2,
        backoff_seconds=0.01,
    )

    with pytest.raises(PagerDutyError, match="network error"):
        pager.resolve("anything")


def test_pages_and_recording_hide_the_routing_key(pagerduty_standin: StandIn) -> None:
    trigger(notifier(pagerduty_standin))

    page = httpx.get(pagerduty_standin.root + "/", timeout=5).text
    assert "Fivetran sync failed 3 times" in page
    for text in (page, str(pagerduty_standin.recorded())):
        assert pagerduty_standin.secret not in text
    assert pagerduty_standin.secret not in (pagerduty_standin.home / "events.jsonl").read_text()
