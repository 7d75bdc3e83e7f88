"""PagerDutyNotifier retries what the Events API says to retry, with exponential backoff."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from analytics_platform.notify import PagerDutyError, PagerDutyNotifier

URL = "http://pagerduty.invalid/v2/enqueue"


def answers(
    monkeypatch: pytest.MonkeyPatch, *replies: int | Exception
) -> tuple[list[dict[str, Any]], list[float]]:
    """Make ``httpx.post`` answer ``replies`` in turn and ``time.sleep`` only record."""
    sent: list[dict[str, Any]] = []
    slept: list[float] = []
    queue = list(replies)

    def post(url: str, json: dict[str, Any], timeout: float) -> httpx.Response:
        sent.append(json)
        reply = queue.pop(0)
        if isinstance(reply, Exception):
            raise reply
        body: dict[str, Any] = {"status": "x", "message": "m", "errors": ["bad"]}
        if reply == 202:
            body = {"status": "success", "dedup_key": json.get("dedup_key")}
        return httpx.Response(reply, json=body, request=httpx.Request("POST", url))

    monkeypatch.setattr(httpx, "post", post)
    monkeypatch.setattr(time, "sleep", slept.append)
    return sent, slept


def pager(**overrides: Any) -> PagerDutyNotifier:
    return PagerDutyNotifier(routing_key="k" * 32, events_url=URL, **overrides)


def test_retries_429_and_5xx_then_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    sent, slept = answers(monkeypatch, 429, 503, 202)

    assert pager().resolve("fieldforce/r/w") == "fieldforce/r/w"

    assert len(sent) == 3
    assert slept == [1.0, 2.0]


def test_gives_up_after_every_attempt_with_doubling_delays(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sent, slept = answers(monkeypatch, 503, 503, 503, 503)

    with (
        caplog.at_level(logging.WARNING),
        pytest.raises(
            PagerDutyError, match=r"^PagerDuty resolve event failed after 4 attempts: HTTP 503$"
        ) as caught,
    ):
        pager().resolve("fieldforce/r/w")

    assert caught.value.status is None
    assert len(sent) == 4
    assert slept == [1.0, 2.0, 4.0]
    assert [record.getMessage() for record in caplog.records] == [
        "PagerDuty resolve event for fieldforce/r/w failed (HTTP 503); retry 1/3 in 1.0 s",
        "PagerDuty resolve event for fieldforce/r/w failed (HTTP 503); retry 2/3 in 2.0 s",
        "PagerDuty resolve event for fieldforce/r/w failed (HTTP 503); retry 3/3 in 4.0 s",
    ]


def test_backoff_is_capped_at_thirty_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    _, slept = answers(monkeypatch, 500, 500, 500, 500)

    with pytest.raises(PagerDutyError, match="after 4 attempts"):
        pager(backoff_seconds=20.0).acknowledge("k")

    assert slept == [20.0, 30.0, 30.0]


def test_network_errors_are_retried_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    refused: Callable[[], Exception] = lambda: httpx.ConnectError("refused")  # noqa: E731
    _, slept = answers(monkeypatch, refused(), refused())

    with pytest.raises(PagerDutyError, match=r"after 2 attempts: network error \(ConnectError\)"):
        pager(max_attempts=2).resolve("k")

    assert slept == [1.0]


def test_a_refused_event_raises_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    sent, slept = answers(monkeypatch, 400)

    with pytest.raises(PagerDutyError, match=r"refused the trigger event \(HTTP 400\)") as caught:
        pager().trigger("k", "summary", "critical", "src")

    assert caught.value.status == 400
    assert caught.value.errors == ("bad",)
    assert len(sent) == 1
    assert slept == []


def test_one_attempt_at_least(monkeypatch: pytest.MonkeyPatch) -> None:
    sent, slept = answers(monkeypatch, 503)

    with pytest.raises(PagerDutyError, match="after 0 attempts: HTTP 503"):
        pager(max_attempts=0).resolve("k")

    assert len(sent) == 1
    assert slept == []
