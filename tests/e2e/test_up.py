"""`fieldforce up` as a user runs it: starts everything, says where, and Ctrl-C leaves nothing."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

FIELDFORCE = str(Path(sys.executable).parent / "fieldforce")


@pytest.fixture
def home() -> Iterator[Path]:
    # PostgreSQL runs as its own account: the home must be reachable by it (not pytest's 0700 tmp).
    path = Path(tempfile.mkdtemp(prefix="fieldforce-up-", dir="/tmp"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (proc / "stat").read_text().split()[2]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(cmdline)
    return found


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(
                f"fieldforce up exited early:\n{proc.stdout.read() if proc.stdout else ''}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear in {timeout_s}s")
        time.sleep(0.5)


def test_up_starts_every_part_and_ctrl_c_stops_all_of_them(home: Path) -> None:
    proc = subprocess.Popen(
        [
            FIELDFORCE,
            "up",
            "--no-dagster",
            "--home",
            str(home),
            "--scale",
            "0.0003",
            "--speed",
            "120",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(home / "stack.json", proc, 240)
        # The stack file is written in steps; wait for the last part's keys.
        deadline = time.monotonic() + 120
        stack: dict = {}
        while "pagerduty_events_url" not in stack and time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"fieldforce up stopped early:\n{proc.communicate()[0]}")
            stack = json.loads((home / "stack.json").read_text())
            time.sleep(0.5)
        for key in (
            "fivetran_api_url",
            "fivetran_api_key",
            "fivetran_api_secret",
            "webhook_secret",
            "slack_api_url",
            "pagerduty_events_url",
            "warehouse",
            "sources",
        ):
            assert key in stack, key

        # Each part answers as its vendor would.
        api = stack["fivetran_api_url"]
        assert httpx.get(f"{api}/groups").status_code == 401
        groups = httpx.get(
            f"{api}/groups", auth=(stack["fivetran_api_key"], stack["fivetran_api_secret"])
        )
        assert groups.status_code == 200 and groups.json()["code"] == "Success"
        slack = httpx.post(
            f"{stack['slack_api_url']}auth.test", headers={"Authorization": "Bearer nope"}
        )
        assert slack.json() == {"ok": False, "error": "invalid_auth"}
        assert httpx.post(stack["pagerduty_events_url"], json={}).status_code == 400
        for tenant, dsn in stack["sources"]["jobs_db_dsns"].items():
            with psycopg.connect(dsn) as conn:
                (count,) = conn.execute("select count(*) from jobs").fetchone()
                assert count > 0, tenant
        assert len(stack["sources"]["jobs_db_dsns"]) == 2
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=90)

    assert proc.returncode == 0, output
    assert "FieldForce local platform is up" in output and "Stopped." in output
    assert not (home / "stack.json").exists()
    time.sleep(1)
    assert _processes_mentioning(str(home)) == []


def test_up_refuses_a_busy_port_in_one_line_and_leaves_nothing(home: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [FIELDFORCE, "up", "--home", str(home), "--dagster-port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode != 0
    lines = [
        line for line in result.stdout.splitlines() + result.stderr.splitlines() if line.strip()
    ]
    assert any(f"port 127.0.0.1:{port} is already in use" in line for line in lines), lines
    assert _processes_mentioning(str(home)) == []
    assert not (home / "stack.json").exists()


def _up(home: Path, dagster_port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            FIELDFORCE,
            "up",
            "--home",
            str(home),
            "--scale",
            "0.0003",
            "--speed",
            "120",
            "--dagster-port",
            str(dagster_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_until_up(home: Path, proc: subprocess.Popen[str], timeout_s: float) -> dict:
    """The stack file once the receiver is registered (its URL is the last part written)."""
    _wait_for(home / "stack.json", proc, timeout_s)
    deadline = time.monotonic() + timeout_s
    stack: dict = {}
    while "webhook_url" not in stack:
        if proc.poll() is not None:
            raise AssertionError(f"fieldforce up stopped early:\n{proc.communicate()[0]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the webhook receiver was not up in {timeout_s}s: {stack}")
        time.sleep(0.5)
        stack = json.loads((home / "stack.json").read_text())
    return stack


def _subscriptions(stack: dict) -> list[dict]:
    response = httpx.get(
        f"{stack['fivetran_api_url']}/webhooks",
        params={"limit": 1000},
        auth=(stack["fivetran_api_key"], stack["fivetran_api_secret"]),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["items"]


def _leave_time_wait_on(port: int) -> None:
    """Leave TIME-WAIT sockets on ``port``, as a server closing its connections on Ctrl-C does.

    A listener bound as uvicorn binds (SO_REUSEADDR) closes an accepted connection first,
    so that connection's end on ``port`` stays in TIME-WAIT after the listener is gone.
    """
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        client = socket.create_connection(("127.0.0.1", port))
        served, _ = listener.accept()
    served.close()
    assert client.recv(1) == b""
    client.close()
    with socket.socket() as probe:  # the check that refused a restart sees the port as taken
        with pytest.raises(OSError):
            probe.bind(("127.0.0.1", port))


def test_up_twice_on_one_home_keeps_one_webhook_and_restarts_at_once(home: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dagster_port = sock.getsockname()[1]

    first = _up(home, dagster_port)
    try:
        stack = _wait_until_up(home, first, 600)
        subscriptions = _subscriptions(stack)
        assert len(subscriptions) == 1, subscriptions
        assert subscriptions[0]["url"].startswith(stack["webhook_url"])
        # A browser's keep-alive connection: the webserver closes it when it stops.
        browser = httpx.Client(timeout=30)
        assert browser.get(f"{stack['dagster_url']}/server_info").status_code == 200
    finally:
        first.send_signal(signal.SIGINT)
        output, _ = first.communicate(timeout=120)
    browser.close()
    assert first.returncode == 0, output
    assert "Stopped." in output

    _leave_time_wait_on(dagster_port)
    restarted = time.monotonic()
    second = _up(home, dagster_port)
    try:
        stack = _wait_until_up(home, second, 600)
        assert stack["dagster_url"] == f"http://127.0.0.1:{dagster_port}"
        subscriptions = _subscriptions(stack)
        assert len(subscriptions) == 1, subscriptions
        assert subscriptions[0]["url"].startswith(stack["webhook_url"])
        assert subscriptions[0]["events"] == ["sync_start", "sync_end"]
        assert subscriptions[0]["active"] is True
    finally:
        second.send_signal(signal.SIGINT)
        output, _ = second.communicate(timeout=120)
    assert second.returncode == 0, output
    assert "already in use" not in output
    assert "Stopped." in output
    assert time.monotonic() - restarted < 600
    assert not (home / "stack.json").exists()
    time.sleep(1)
    assert _processes_mentioning(str(home)) == []
