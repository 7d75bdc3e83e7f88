"""The real ``slack_sdk.WebClient`` (and the platform's SlackNotifier) against the Slack stand-in."""

from __future__ import annotations

import time

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from analytics_platform.notify import SlackNotifier
from tests.integration.alerts.conftest import StandIn


def client(standin: StandIn, token: str | None = None) -> WebClient:
    return WebClient(token=token or standin.secret, base_url=f"{standin.root}/api/")


def test_auth_test_identifies_the_bot(slack_standin: StandIn) -> None:
    response = client(slack_standin).auth_test()

    assert response["ok"] is True
    assert response["team_id"].startswith("T")
    assert response["user_id"].startswith("U")
    assert response["bot_id"].startswith("B")


def test_post_message_by_name_is_recorded_with_blocks(slack_standin: StandIn) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*sync late*"}}]

    response = client(slack_standin).chat_postMessage(
        channel="#data-alerts", text="sync late", blocks=blocks
    )

    assert response["ok"] is True
    assert response["channel"].startswith("C")
    assert response["message"]["text"] == "sync late"
    assert response["message"]["ts"] == response["ts"]
    [record] = slack_standin.recorded()["messages"]
    assert record["channel_name"] == "data-alerts"
    assert record["channel"] == response["channel"]
    assert record["message"]["blocks"] == blocks
    log = (slack_standin.home / "messages.jsonl").read_text().splitlines()
    assert len(log) == 1
    assert "sync late" in httpx.get(slack_standin.root + "/", timeout=5).text


def test_post_message_by_channel_id(slack_standin: StandIn) -> None:
    web = client(slack_standin)
    ids = {c["name"]: c["id"] for c in web.conversations_list()["channels"]}

    response = web.chat_postMessage(channel=ids["data-alerts"], text="by id")

    assert response["channel"] == ids["data-alerts"]


def test_bad_token_is_invalid_auth(slack_standin: StandIn) -> None:
    with pytest.raises(SlackApiError) as caught:
        client(slack_standin, token="xoxb-not-the-token").chat_postMessage(
            channel="#data-alerts", text="nope"
        )

    assert caught.value.response["error"] == "invalid_auth"
    assert slack_standin.recorded()["messages"] == []


def test_missing_token_is_not_authed(slack_standin: StandIn) -> None:
    reply = httpx.post(
        f"{slack_standin.root}/api/chat.postMessage",
        json={"channel": "#data-alerts", "text": "x"},
        timeout=5,
    )

    assert reply.status_code == 200
    assert reply.json() == {"ok": False, "error": "not_authed"}


def test_unknown_channel_is_channel_not_found(slack_standin: StandIn) -> None:
    with pytest.raises(SlackApiError) as caught:
        client(slack_standin).chat_postMessage(channel="#no-such-channel", text="x")

    assert caught.value.response["error"] == "channel_not_found"


def test_empty_message_is_no_text(slack_standin: StandIn) -> None:
    # The SDK warns about the missing text before sending; the stand-in then refuses it.
    with pytest.raises(SlackApiError) as caught, pytest.warns(UserWarning, match="text"):
        client(slack_standin).chat_postMessage(channel="#data-alerts", text="")

    assert caught.value.response["error"] == "no_text"


def test_form_body_with_token_field(slack_standin: StandIn) -> None:
    reply = httpx.post(
        f"{slack_standin.root}/api/chat.postMessage",
        data={
            "token": slack_standin.secret,
            "channel": "data-alerts",
            "text": "from a form",
            "blocks": '[{"type": "divider"}]',
        },
        timeout=5,
    ).json()

    assert reply["ok"] is True
    assert reply["message"]["blocks"] == [{"type": "divider"}]


def test_conversations_list_pages_with_cursor(slack_standin: StandIn) -> None:
    web = client(slack_standin)

    # The SDK's response iterator reuses one object per page: copy what each page said.
    pages = [
        ([c["name"] for c in page["channels"]], page["response_metadata"]["next_cursor"])
        for page in web.conversations_list(limit=1)
    ]

    assert [names for names, _ in pages] == [["data-alerts"], ["data-incidents"], ["general"]]
    assert all(cursor for _, cursor in pages[:-1])
    assert pages[-1][1] == ""
    with pytest.raises(SlackApiError) as caught:
        web.conversations_list(cursor="not-a-cursor")
    assert caught.value.response["error"] == "invalid_cursor"


def test_notifier_posts_and_retries_a_rate_limit(slack_standin: StandIn) -> None:
    notifier = SlackNotifier(token=slack_standin.secret, base_url=f"{slack_standin.root}/api")
    slack_standin.inject(method="chat.postMessage", count=1, retry_after=1)

    started = time.monotonic()
    posted = notifier.post("#data-alerts", "after a 429")

    assert time.monotonic() - started >= 0.9  # it honoured Retry-After
    [record] = slack_standin.recorded()["messages"]
    assert (posted.channel, posted.ts) == (record["channel"], record["message"]["ts"])
