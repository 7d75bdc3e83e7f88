"""A receiver killed with reports still pending loses nothing and, restarted, repeats nothing.

Real processes, no daemon: the receiver's command line, the local Fivetran, and a Dagster
webserver over a SQLite instance of the test's own (an empty code location: the receiver's
reports need no definitions). The receiver keeps no file; what it has reported is what the
instance holds.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import httpx
import pytest
from devstack.ports import free_port, wait_for_port
from standins.sources import catalog
from testkit.stack import API_KEY, API_SECRET, Stack, StackFactory

pytestmark = pytest.mark.timeout(600)

NORTH, SOUTH = "postgres_jobs_bu_north", "postgres_jobs_bu_south"
NORTH_JOBS = dg.AssetKey(["fivetran", "fivetran_postgres_bu_north", "jobs"])
SOUTH_JOBS = dg.AssetKey(["fivetran", "fivetran_postgres_bu_south", "jobs"])
EMPTY_CODE_LOCATION = "import dagster as dg\n\ndefs = dg.Definitions()\n"


class Processes:
    """The test's webserver and receivers: started on free ports, killed at the end."""

    def __init__(self, stack: Stack, root: Path) -> None:
        """Nothing starts until asked."""
        self.stack = stack
        self.root = root
        self.home = root / "dagster_home"
        self.home.mkdir()
        (root / "tmp").mkdir()
        (root / "empty_defs.py").write_text(EMPTY_CODE_LOCATION)
        self.started: list[subprocess.Popen[bytes]] = []
        self.dagster_url = ""

    def _start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.root / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.started.append(proc)
        return proc

    def log(self, name: str) -> str:
        """What a process has logged so far."""
        return (self.root / f"{name}.log").read_text(errors="replace")

    def webserver(self) -> subprocess.Popen[bytes]:
        """The Dagster webserver over the test's instance, serving once this returns."""
        port = free_port()
        env = os.environ | {"DAGSTER_HOME": str(self.home), "TMPDIR": str(self.root / "tmp")}
        argv = [str(Path(sys.executable).parent / "dagster-webserver")]
        argv += ["-h", "127.0.0.1", "-p", str(port), "-f", str(self.root / "empty_defs.py")]
        proc = self._start("webserver", argv, env)
        assert wait_for_port(port, 180, alive=lambda: proc.poll() is None), self.log("webserver")
        self.dagster_url = f"http://127.0.0.1:{port}"
        _wait(lambda: httpx.get(f"{self.dagster_url}/server_info").is_success, "webserver up")
        return proc

    def receiver(self, name: str) -> subprocess.Popen[bytes]:
        """The receiver's command line, sweeping every second; it reports to the webserver."""
        port = free_port()
        env = os.environ | {
            "ENVIRONMENT": "local",
            "FIELDFORCE_HOME": str(self.root / "fieldforce_home"),
            "FIELDFORCE_WAREHOUSE_PATH": str(self.stack.warehouse),
            "FIVETRAN_API_BASE_URL": self.stack.api_url,
            "FIVETRAN_API_KEY": API_KEY,
            "FIVETRAN_API_SECRET": API_SECRET,
            "FIVETRAN_WEBHOOK_SECRET": "whsec-restart-test",
            "DAGSTER_UI_URL": self.dagster_url,
        }
        argv = [sys.executable, "-m", "analytics_platform.ingest.webhook"]
        argv += ["--port", str(port), "--sweep", "1"]
        proc = self._start(name, argv, env)
        assert wait_for_port(port, 120, alive=lambda: proc.poll() is None), self.log(name)
        return proc

    def close(self) -> None:
        """Kill whatever still runs."""
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


@pytest.fixture
def processes(stack_factory: StackFactory, tmp_path: Path) -> Iterator[Processes]:
    running = Processes(stack_factory(rows=20), tmp_path)
    try:
        yield running
    finally:
        running.close()


def _wait(predicate: Callable[[], bool], what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {what}")


def _materializations(instance: dg.DagsterInstance) -> Counter[dg.AssetKey]:
    """How often each table of the tenants' Jobs DBs has been reported materialized.

    (The Platform Connector's tables change with every sync, whoever runs it, so their counts
    say nothing about this receiver.)
    """
    counts: Counter[dg.AssetKey] = Counter()
    for key in instance.get_asset_keys():
        if key.path[0] == "fivetran" and key.path[1].startswith("fivetran_postgres_bu_"):
            counts[key] = len(instance.fetch_materializations(key, limit=1000).records)
    return counts


def _rows_written(instance: dg.DagsterInstance, key: dg.AssetKey) -> int | None:
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    return int(event.asset_materialization.metadata["fivetran/rows_written"].value)


def _touch_jobs(stack: Stack, tenant: str, first_id: int, count: int) -> None:
    stack.pg(
        stack.jobs_dsns[tenant],
        "update public.jobs set priority = 'high', updated_at = now()"
        " where job_id between %s and %s",
        (first_id, first_id + count - 1),
    )


def test_a_receiver_killed_with_pending_reports_loses_and_repeats_nothing(
    processes: Processes, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = processes.stack
    monkeypatch.setenv("DAGSTER_HOME", str(processes.home))
    webserver = processes.webserver()
    instance = dg.DagsterInstance.get()

    # The first receiver's start-up sweep reports every table the historical syncs landed.
    processes.receiver("receiver1")
    _wait(
        lambda: (
            _rows_written(instance, NORTH_JOBS) is not None
            and _rows_written(instance, SOUTH_JOBS) is not None
        ),
        "the start-up sweep reported the landed tables",
    )
    _touch_jobs(stack, "bu_south", catalog.ID_OFFSET * 2 + 1, 1)
    stack.sync(SOUTH)
    _wait(lambda: _rows_written(instance, SOUTH_JOBS) == 1, "the first receiver's sweep")
    before = _materializations(instance)
    assert before[NORTH_JOBS] == 1 and before[SOUTH_JOBS] == 2

    # Dagster goes away; a sync lands; the receiver measures it and holds its report ...
    webserver.send_signal(signal.SIGTERM)
    webserver.wait(timeout=60)
    receiver1 = processes.started[-1]
    _touch_jobs(stack, "bu_north", catalog.ID_OFFSET + 1, 2)
    stack.sync(NORTH)
    _wait(
        lambda: "could not report" in processes.log("receiver1"),
        "the receiver failing to deliver the measured sync",
    )
    # ... and is killed with it pending. With its watermarks in a file, that sync was lost.
    receiver1.kill()
    assert receiver1.wait(timeout=30) == -signal.SIGKILL

    processes.webserver()
    processes.receiver("receiver2")
    _wait(lambda: _rows_written(instance, NORTH_JOBS) == 2, "the restarted receiver's sweep")
    # A later sync of another connector is reported after everything the start-up sweep found
    # (one thread delivers in order), so once it is in, the restart's reports are all in.
    _touch_jobs(stack, "bu_south", catalog.ID_OFFSET * 2 + 2, 3)
    stack.sync(SOUTH)
    _wait(lambda: _rows_written(instance, SOUTH_JOBS) == 3, "a sync after the restart")

    after = _materializations(instance)
    assert after - before == Counter({NORTH_JOBS: 1, SOUTH_JOBS: 1}), after - before
