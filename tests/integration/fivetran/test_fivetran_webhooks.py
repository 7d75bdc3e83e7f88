"""Webhooks: managed through the API, signed, delivered on sync start/end, retried."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standins.sources.postgres import free_port
from testkit.stack import Stack

SECRET = "whsec-local"


class Receiver:
    """A loopback webhook endpoint that refuses the first `fail_first` deliveries."""

    def __init__(self, fail_first: int) -> None:
        self.fail_first = fail_first
        self.attempts: list[dict[str, Any]] = []
        self.port = free_port()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.attempts.append(
                    {"body": body, "signature": self.headers.get("X-Fivetran-Signature-256")}
                )
                code = 500 if len(receiver.attempts) <= receiver.fail_first else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/fivetran"

    def delivered(self) -> list[dict[str, Any]]:
        return [json.loads(a["body"]) for a in self.attempts[self.fail_first :]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver(fail_first=1)
    rec.thread.start()
    try:
        yield rec
    finally:
        rec.server.shutdown()
        rec.server.server_close()


def test_webhook_crud(shared_stack: Stack, receiver: Receiver) -> None:
    with shared_stack.client() as c:
        created = c.post(
            "/v1/webhooks/group/fieldforce_local",
            json={"url": receiver.url, "events": ["sync_end"], "secret": "s", "active": False},
        ).json()["data"]
        assert created["type"] == "group" and created["group_id"] == "fieldforce_local"
        assert created["secret"] == "******"
        wid = created["id"]
        assert wid in {w["id"] for w in c.get("/v1/webhooks").json()["data"]["items"]}
        patched = c.patch(f"/v1/webhooks/{wid}", json={"events": ["sync_start"]}).json()["data"]
        assert patched["events"] == ["sync_start"]
        assert c.get(f"/v1/webhooks/{wid}").json()["data"]["active"] is False
        assert c.delete(f"/v1/webhooks/{wid}").status_code == 200
        assert c.get(f"/v1/webhooks/{wid}").status_code == 404


def test_sync_events_are_signed_and_retried(shared_stack: Stack, receiver: Receiver) -> None:
    stack = shared_stack
    with stack.client() as c:
        resp = c.post(
            "/v1/webhooks/account",
            json={"url": receiver.url, "events": ["sync_start", "sync_end"], "secret": SECRET},
        )
        assert resp.json()["data"]["type"] == "account"
        wid = resp.json()["data"]["id"]
    stack.sync("salesforce_crm")
    deadline = time.monotonic() + 20
    while len(receiver.delivered()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    stack.wait_idle()
    for attempt in receiver.attempts:
        expected = hmac.new(SECRET.encode(), attempt["body"], hashlib.sha256).hexdigest()
        assert attempt["signature"] == expected.upper()
    events = receiver.delivered()
    assert sorted(e["event"] for e in events) == ["sync_end", "sync_start"]
    end = next(e for e in events if e["event"] == "sync_end")
    assert end["connector_id"] == "salesforce_crm"
    assert end["connector_type"] == "salesforce"
    assert end["connector_name"] == "fivetran_salesforce"
    assert end["destination_group_id"] == "fieldforce_local"
    assert end["data"] == {"status": "SUCCESSFUL"}
    assert end["sync_id"] == next(e for e in events if e["event"] == "sync_start")["sync_id"]
    assert set(end) == {
        "event",
        "created",
        "connector_type",
        "connector_id",
        "connector_name",
        "sync_id",
        "destination_group_id",
        "data",
    }
    with stack.client() as c:
        log = [
            d for d in c.get("/admin/webhook-deliveries").json()["items"] if d["webhook_id"] == wid
        ]
        c.delete(f"/v1/webhooks/{wid}")
    assert [d["delivered"] for d in log][:1] == [False]
    assert sum(d["delivered"] for d in log) == 2
    assert any(d["attempt"] == 2 and d["delivered"] for d in log)


def test_failed_sync_webhook_carries_the_reason(shared_stack: Stack, receiver: Receiver) -> None:
    stack = shared_stack
    receiver.fail_first = 0
    with stack.client() as c:
        wid = c.post(
            "/v1/webhooks/group/fieldforce_local",
            json={"url": receiver.url, "events": ["sync_end"], "secret": SECRET},
        ).json()["data"]["id"]
        c.post("/admin/faults/quickbooks_finance", json={"type": "fail", "message": "boom"})
    stack.sync("quickbooks_finance")
    stack.wait_idle()
    with stack.client() as c:
        c.delete(f"/v1/webhooks/{wid}")
    (end,) = receiver.delivered()
    assert end["data"]["status"] == "FAILURE"
    assert "boom" in end["data"]["reason"]
