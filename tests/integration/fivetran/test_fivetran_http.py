"""The API speaks Fivetran's HTTP: auth, envelopes, pagination, errors, rate limits."""

from __future__ import annotations

import time

import httpx
from testkit.stack import API_KEY, Stack


def test_auth_is_required(shared_stack: Stack) -> None:
    assert httpx.get(f"{shared_stack.api_url}/groups").status_code == 401
    wrong = httpx.get(f"{shared_stack.api_url}/groups", auth=(API_KEY, "nope"))
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "AuthFailed"
    assert httpx.get(f"{shared_stack.base_url}/admin/status").status_code == 401


def test_envelope_and_pagination(shared_stack: Stack) -> None:
    with shared_stack.client() as c:
        groups = c.get("/v1/groups").json()
        assert groups["code"] == "Success"
        assert groups["data"]["items"][0]["id"] == "fieldforce_local"
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            data = c.get("/v1/groups/fieldforce_local/connections", params=params).json()["data"]
            seen += [item["id"] for item in data["items"]]
            pages += 1
            cursor = data.get("next_cursor")
            if not cursor:
                break
        assert pages == 3 and len(seen) == len(set(seen)) == 7
        connector = c.get("/v1/connections/salesforce_crm").json()["data"]
        assert connector["schema"] == "fivetran_salesforce"
        assert connector["sync_frequency"] == 60
        assert connector["status"]["setup_state"] == "connected"
        assert connector["succeeded_at"] and connector["status"]["sync_state"] == "scheduled"


def test_unknown_ids_are_404(shared_stack: Stack) -> None:
    with shared_stack.client() as c:
        assert c.get("/v1/connectors/nope").status_code == 404
        assert c.get("/v1/connections/nope/schemas").status_code == 404
        assert c.get("/v1/groups/nope").status_code == 404
        assert c.get("/v1/destinations/nope").status_code == 404
        assert c.get("/v1/webhooks/nope").status_code == 404
        body = c.post("/v1/connectors/nope/force").json()
        assert body["code"].startswith("NotFound")


def test_malformed_bodies_are_400(shared_stack: Stack) -> None:
    with shared_stack.client() as c:
        bad_json = c.patch("/v1/connectors/salesforce_crm", content=b"{not json")
        assert bad_json.status_code == 400 and "malformed JSON" in bad_json.json()["message"]
        assert (
            c.patch("/v1/connectors/salesforce_crm", json={"schedule_type": "x"}).status_code == 400
        )
        assert (
            c.patch("/v1/connectors/salesforce_crm", json={"sync_frequency": 7}).status_code == 400
        )
        assert c.patch("/v1/connectors/salesforce_crm", json=[1]).status_code == 400
        assert c.get("/v1/groups", params={"limit": 0}).status_code == 400
        assert (
            c.post(
                "/v1/webhooks/account", json={"url": "ftp://x", "events": ["sync_end"]}
            ).status_code
            == 400
        )
        assert (
            c.post("/v1/webhooks/account", json={"url": "http://x", "events": []}).status_code
            == 400
        )
        # A valid PATCH round-trips.
        resp = c.patch(
            "/v1/connectors/sheets_targets", json={"paused": True, "sync_frequency": 720}
        )
        assert resp.status_code == 200
        assert resp.json()["data"]["status"]["sync_state"] == "paused"
        assert c.post("/v1/connectors/sheets_targets/force").status_code == 400
        c.patch("/v1/connectors/sheets_targets", json={"paused": False, "sync_frequency": 1440})


def test_rate_limit_answers_429_with_retry_after(shared_stack: Stack) -> None:
    with shared_stack.client() as c:
        c.post("/admin/rate-limit", json={"max_per_second": 5, "retry_after": 2})
        try:
            codes = [c.get("/v1/groups").status_code for _ in range(12)]
            assert codes[:5] == [200] * 5
            assert 429 in codes
            limited = c.get("/v1/groups")
            assert limited.status_code == 429
            assert limited.headers["Retry-After"] == "2"
            time.sleep(1.1)
            assert c.get("/v1/groups").status_code == 200
        finally:
            c.post("/admin/rate-limit", json={"max_per_second": None})


def test_slow_sync_reports_syncing_until_done(shared_stack: Stack) -> None:
    with shared_stack.client() as c:
        c.post("/admin/faults/sheets_targets", json={"type": "slow", "seconds": 1.5})
        before = c.get("/v1/connectors/sheets_targets").json()["data"]["succeeded_at"]
        assert c.post("/v1/connectors/sheets_targets/force").status_code == 200
        states = set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            data = c.get("/v1/connectors/sheets_targets").json()["data"]
            states.add(data["status"]["sync_state"])
            if data["succeeded_at"] != before:
                break
            time.sleep(0.1)
        assert "syncing" in states
        assert data["succeeded_at"] > before
        (last,) = c.get(
            "/admin/syncs", params={"connector_id": "sheets_targets", "limit": 1}
        ).json()["items"]
        assert last["duration_s"] >= 1.5
