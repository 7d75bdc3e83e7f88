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
