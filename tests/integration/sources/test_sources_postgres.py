import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from standins.sources.errors import EstateError
from standins.sources.postgres import PostgresCluster, postgres_processes


def pgrep(data_dir: Path) -> str:
    return subprocess.run(
        ["pgrep", "-af", f"postgres.*{data_dir}"], capture_output=True, text=True
    ).stdout.strip()


def test_cluster_starts_answers_and_stops_without_orphans(base_dir: Path) -> None:
    data_dir = base_dir / "lifecycle" / "pg"
    with PostgresCluster(data_dir) as cluster:
        assert cluster.is_running()
        assert pgrep(data_dir)
        cluster.create_database("probe")
        cluster.create_database("probe")  # idempotent
        with psycopg.connect(cluster.dsn("probe")) as conn:
            assert conn.execute("select current_user, inet_server_addr()::text").fetchone() == (
                "fieldforce",
                "127.0.0.1/32",
            )
        assert cluster.dsn("probe") == f"postgresql://fieldforce@127.0.0.1:{cluster.port}/probe"
    assert not cluster.is_running()
    assert postgres_processes(data_dir) == []
    assert pgrep(data_dir) == ""


def test_killed_server_leaves_a_stale_pidfile_that_start_recovers(base_dir: Path) -> None:
    data_dir = base_dir / "killed" / "pg"
    cluster = PostgresCluster(data_dir).start()
    pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while postgres_processes(data_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (data_dir / "postmaster.pid").exists(), "the kill left its pid file behind"
    assert not cluster.is_running()
    again = PostgresCluster(data_dir).start()
    try:
        with psycopg.connect(again.dsn("postgres")) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        again.stop()
    assert postgres_processes(data_dir) == []


def test_second_start_adopts_the_running_server(base_dir: Path) -> None:
    data_dir = base_dir / "adopt" / "pg"
    first = PostgresCluster(data_dir).start()
    try:
        second = PostgresCluster(data_dir).start()
        assert second.adopted and second.port == first.port
    finally:
        first.stop()
    assert postgres_processes(data_dir) == []


def test_port_in_use_is_a_one_line_error_naming_the_port(base_dir: Path) -> None:
    data_dir = base_dir / "busy" / "pg"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(EstateError) as err:
            PostgresCluster(data_dir, port=port).start()
    assert str(port) in str(err.value) and "in use" in str(err.value) and "\n" not in str(err.value)
    assert postgres_processes(data_dir) == []


def test_unwritable_data_dir_names_the_path(base_dir: Path) -> None:
    blocker = base_dir / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(EstateError) as err:
        PostgresCluster(blocker / "pg").start()
    assert str(blocker / "pg") in str(err.value) and "not writable" in str(err.value)


def test_data_dir_the_server_account_cannot_reach(base_dir: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root hands the data dir to another account")
    locked = base_dir / "locked"
    locked.mkdir(mode=0o700)
    data_dir = locked / "pg"
    with pytest.raises(EstateError) as err:
        PostgresCluster(data_dir).start()
    assert str(data_dir) in str(err.value)
    assert postgres_processes(data_dir) == []
