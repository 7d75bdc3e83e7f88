"""The receiver's own Fivetran webhook against the real local Fivetran, across restarts.

Every restart of the local platform gives the receiver a new port; its subscription must follow
it (one, never two), somebody else's subscriptions must survive, and a stopped receiver must
leave none behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from devstack.ports import free_port, wait_for_port
from testkit.stack import API_KEY, API_SECRET, Stack, StackFactory

from analytics_platform.ingest.webhook import registration as registration_module
from analytics_platform.ingest.webhook.registration import (
    MARKER,
    WebhookRegistration,
    markers,
)

SECRET = "whsec-registration-test"
RECEIVER_ID = "fieldforce"
WRONG_SECRET = "not-the-api-secret-4f2a9c"


def _receiver_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/webhooks/fivetran"


def _registration(stack: Stack, port: int, receiver_id: str = RECEIVER_ID) -> WebhookRegistration:
    return WebhookRegistration(
        api_base_url=stack.api_url,
        api_key=API_KEY,
        api_secret=API_SECRET,
        public_url=_receiver_url(port),
        webhook_secret=SECRET,
        receiver_id=receiver_id,
    )


def _webhooks(stack: Stack) -> list[dict[str, Any]]:
    """Every webhook of the account, read the way an operator would (all pages)."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 1000} | ({"cursor": cursor} if cursor else {})
        response = httpx.get(
            f"{stack.api_url}/webhooks", params=params, auth=(API_KEY, API_SECRET), timeout=30
        )
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        items += data["items"]
        cursor = data.get("next_cursor")
        if not cursor:
            return items


def _ours(stack: Stack, receiver_id: str = RECEIVER_ID) -> list[dict[str, Any]]:
    return [w for w in _webhooks(stack) if markers(w["url"])[0] == receiver_id]


def _create(stack: Stack, url: str, events: list[str] | None = None) -> dict[str, Any]:
    response = httpx.post(
        f"{stack.api_url}/webhooks/account",
        json={"url": url, "events": events or ["sync_end"], "active": True, "secret": "other"},
        auth=(API_KEY, API_SECRET),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.fixture
def small_stack(stack_factory: StackFactory) -> Stack:
    return stack_factory(rows=20)


def test_a_restart_on_a_new_port_leaves_one_subscription_at_the_latest_url(
    small_stack: Stack,
) -> None:
    stack = small_stack
    # Somebody else's: an unmarked receiver on the same host and path, and another deployment.
    foreign = _create(stack, _receiver_url(free_port()))
    other_deployment = _registration(stack, free_port(), receiver_id="staging")
    other_deployment.register()

    first_port, second_port = free_port(), free_port()
    first = _registration(stack, first_port)
    first_id = first.register()
    assert [w["id"] for w in _ours(stack)] == [first_id]
    assert first.register() == first_id  # registering again changes nothing
    assert len(_ours(stack)) == 1

    # The process on the first port dies without unregistering (kill -9, power cut), and a
    # crash loop before it left a duplicate: the next start on a new port finds both.
    _create(stack, first.url, ["sync_end"])
    assert len(_ours(stack)) == 2
    second = _registration(stack, second_port)
    second.register()
    ours = _ours(stack)
    assert len(ours) == 1, ours
    (only,) = ours
    assert only["url"] == second.url and only["url"].startswith(_receiver_url(second_port))
    assert only["events"] == ["sync_start", "sync_end"] and only["active"] is True

    everything = {w["id"]: w for w in _webhooks(stack)}
    assert everything[foreign["id"]]["url"] == foreign["url"]
    assert everything[foreign["id"]]["events"] == ["sync_end"]
    assert len(_ours(stack, "staging")) == 1

    # The stale process shutting down late must not take the new one's subscription with it.
    assert first.unregister() is False
    assert [w["id"] for w in _ours(stack)] == [only["id"]]
    assert second.unregister() is True
    assert _ours(stack) == []
    remaining = {w["id"] for w in _webhooks(stack)}
    assert foreign["id"] in remaining and len(_ours(stack, "staging")) == 1


def test_an_unmarked_subscription_at_the_receivers_own_url_is_adopted(small_stack: Stack) -> None:
    stack = small_stack
    port = free_port()
    manual = _create(stack, _receiver_url(port))
    registration = _registration(stack, port)
    assert registration.register() == manual["id"]
    at_our_endpoint = [w for w in _webhooks(stack) if w["url"].startswith(_receiver_url(port))]
    assert len(at_our_endpoint) == 1 and MARKER in at_our_endpoint[0]["url"]


def test_subscriptions_on_later_pages_are_found(
    small_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = small_stack
    monkeypatch.setattr(registration_module, "PAGE_SIZE", 2)
    stale = _registration(stack, free_port())
    stale.register()
    for _ in range(4):
        _create(stack, f"http://example.invalid/{free_port()}")
    _create(stack, stale.url)  # a duplicate on the last page
    assert len(_webhooks(stack)) == 6
    current = _registration(stack, free_port())
    current.register()
    assert [w["url"] for w in _ours(stack)] == [current.url]
    assert len(_webhooks(stack)) == 5


def _receiver_env(stack: Stack, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ENVIRONMENT": "local",
        "FIELDFORCE_HOME": str(home),
        "FIELDFORCE_WAREHOUSE_PATH": str(stack.warehouse),
        "FIVETRAN_API_BASE_URL": stack.api_url,
        "FIVETRAN_API_KEY": API_KEY,
        "FIVETRAN_API_SECRET": API_SECRET,
        "FIVETRAN_WEBHOOK_SECRET": SECRET,
        # Nothing listens there: reports are kept for later, which this test does not need.
        "DAGSTER_UI_URL": f"http://127.0.0.1:{free_port()}",
    }


def _receiver_argv(port: int, tmp_path: Path) -> list[str]:
    """The receiver's command line as the launcher runs it."""
    return [
        sys.executable,
        "-m",
        "analytics_platform.ingest.webhook",
        "--port",
        str(port),
        "--public-url",
        _receiver_url(port),
    ]


@pytest.fixture
def receiver_process(
    small_stack: Stack, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    port = free_port()
    log_path = tmp_path / "receiver.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            _receiver_argv(port, tmp_path),
            env=_receiver_env(small_stack, tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc, port, log_path
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_the_receiver_registers_at_start_up_and_unregisters_at_shutdown(
    small_stack: Stack, receiver_process: tuple[subprocess.Popen[bytes], int, Path]
) -> None:
    stack = small_stack
    proc, port, log_path = receiver_process
    leftover = _create(stack, _registration(stack, free_port()).url)  # a previous run's
    assert wait_for_port(port, 120, alive=lambda: proc.poll() is None), log_path.read_text()

    ours = _ours(stack)
    assert len(ours) == 1, ours
    assert ours[0]["url"].startswith(_receiver_url(port))
    assert ours[0]["id"] == leftover["id"]  # updated in place, not created anew
    # The secret was set: Fivetran's signed test delivery passes the receiver's check.
    tested = httpx.post(
        f"{stack.api_url}/webhooks/{ours[0]['id']}/test",
        json={"event": "sync_start"},
        auth=(API_KEY, API_SECRET),
        timeout=30,
    )
    assert tested.json()["data"]["succeed"] is True, tested.text

    proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert proc.wait(timeout=30) in (0, -signal.SIGTERM), log_path.read_text()
    assert _ours(stack) == []
    log = log_path.read_text()
    assert SECRET not in log and API_SECRET not in log


def test_a_receiver_that_cannot_register_stops_instead_of_waiting(
    small_stack: Stack, tmp_path: Path
) -> None:
    env = _receiver_env(small_stack, tmp_path) | {"FIVETRAN_API_SECRET": WRONG_SECRET}
    port = free_port()
    started = time.monotonic()
    result = subprocess.run(
        _receiver_argv(port, tmp_path),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Fivetran refused GET /webhooks: HTTP 401" in result.stdout + result.stderr
    assert time.monotonic() - started < 60
    assert WRONG_SECRET not in result.stdout + result.stderr
