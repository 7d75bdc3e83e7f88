import os
import socket
import sys
import time
from pathlib import Path

import pytest
from devstack.cli import app
from devstack.launcher import LaunchError, check_writable
from devstack.ports import PortInUseError, ensure_free, free_port, wait_for_port
from devstack.processes import Supervisor
from devstack.stack import read_stack, remove_stack, stack_path, write_stack
from typer.testing import CliRunner


def test_stack_file_round_trip_and_removal(tmp_path: Path) -> None:
    info = {"dagster_url": "http://127.0.0.1:3000", "sources": {"jobs_db_dsns": {"bu_a": "x"}}}
    path = write_stack(info, tmp_path)
    assert path == stack_path(tmp_path) == tmp_path / "stack.json"
    assert read_stack(tmp_path) == info
    remove_stack(tmp_path)
    assert not path.exists()
    with pytest.raises(FileNotFoundError):
        read_stack(tmp_path)


def test_busy_port_is_refused_with_its_number() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUseError, match=rf"Dagster UI: port 127.0.0.1:{port} "):
            ensure_free(port, "Dagster UI")
        assert wait_for_port(port, 2)
    port = free_port()
    assert ensure_free(port, "x") == port
    assert not wait_for_port(port, 0.3)


def test_unwritable_home_names_the_path(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        target = Path("/proc/fieldforce-cannot-exist")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "home"
    with pytest.raises(LaunchError, match=str(target)):
        check_writable(target)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_supervisor_stops_children_and_grandchildren(tmp_path: Path) -> None:
    sup = Supervisor(log_dir=tmp_path)
    stopped: list[str] = []
    sup.on_stop.append(lambda: stopped.append("hook"))
    # The child spawns a grandchild that ignores SIGTERM and writes its pid.
    script = (
        "import subprocess,sys,time;"
        "p=subprocess.Popen([sys.executable,'-c',"
        "'import signal,time;signal.signal(signal.SIGTERM,signal.SIG_IGN);time.sleep(600)']);"
        f"open({str(tmp_path / 'gc.pid')!r},'w').write(str(p.pid));time.sleep(600)"
    )
    child = sup.start("sleeper", [sys.executable, "-c", script])
    deadline = time.monotonic() + 10
    while not (tmp_path / "gc.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int((tmp_path / "gc.pid").read_text())
    assert _alive(child.popen.pid) and _alive(grandchild)
    assert sup.dead() == []
    sup.stop(timeout_s=2)
    time.sleep(0.2)
    assert not _alive(child.popen.pid)
    assert not _alive(grandchild)
    assert stopped == ["hook"]
    assert (tmp_path / "sleeper.log").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["up", "--scale", "0"], "--scale must be in (0, 1]"),
        (["up", "--scale", "3"], "--scale must be in (0, 1]"),
        (["up", "--seed", "-1"], "--seed must be >= 0"),
        (["bench", "nope"], "unknown benchmark"),
    ],
)
def test_cli_rejects_bad_input_with_one_clear_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert message in result.output.replace("\n", " ") or message in str(result.exception)
