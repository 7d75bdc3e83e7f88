"""A private PostgreSQL cluster for the source estate, started and stopped by us alone.

The cluster lives entirely in its data directory (socket included), listens only on
127.0.0.1 and trusts the local user ``fieldforce``: it is a sandbox stand-in for the Jobs DB
and the SaaS back ends, never a system service. PostgreSQL refuses to run as root, so when
we are root the server runs as the unprivileged ``postgres`` (or ``nobody``) account and the
data directory is handed to that account.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

import psycopg
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from standins.net import HOST, free_port, port_in_use
from standins.sources.errors import EstateError
from standins.sources.pgsystem import cmdline, find_binary, pid_alive, postgres_processes

__all__ = [
    "HOST",
    "SUPERUSER",
    "PostgresCluster",
    "find_binary",
    "free_port",
    "port_in_use",
    "postgres_processes",
]

SUPERUSER = "fieldforce"
_BINARIES = ("initdb", "pg_ctl", "postgres")
_START_TIMEOUT_S = 60
# Unix sockets have a 108-byte path limit (sun_path); longer socket dirs are disabled.
_MAX_SOCKET_PATH = 100

# Settings for a throwaway, single-user sandbox: durability is traded for load speed because
# the estate can always be regenerated from its seed. wal_level=minimal lets COPY into a table
# created in the same transaction skip WAL entirely.
_SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "60",
    # The change stream writes each step in one two-phase transaction per database (resumable
    # after a kill -9, see standins.sources.changes.apply_step).
    "max_prepared_transactions": "60",
    "shared_buffers": "128MB",
    "maintenance_work_mem": "256MB",
    "work_mem": "16MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "2GB",
    "checkpoint_timeout": "30min",
    "timezone": "'UTC'",
    "log_timezone": "'UTC'",
    "datestyle": "'iso, ymd'",
    "logging_collector": "off",
}


class PostgresCluster:
    """One PostgreSQL cluster in ``data_dir``, on a private port of 127.0.0.1.

    Args:
        data_dir: The cluster's data directory; created and initialised (``initdb``) when it is
            missing or empty, reused otherwise.
        port: The TCP port to listen on; a free one is chosen when ``None``.

    A server already running on this data directory (left by another process of ours) is
    adopted rather than started twice; ``adopted`` tells the two cases apart.
    """

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        """Remember where the cluster lives; nothing is started until :meth:`start`."""
        self.data_dir = Path(data_dir).absolute()
        self.requested_port = port
        self.port: int | None = None
        self.adopted = False
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        self._bin_dir: Path | None = None
        self._run_as = self._server_account()

    # -- public API ------------------------------------------------------------------------

    def start(self) -> PostgresCluster:
        """Initialise (if needed) and start the server, waiting until it accepts connections.

        Returns:
            The cluster itself, so ``cluster = PostgresCluster(d).start()`` reads well.

        Raises:
            EstateError: missing binaries, an unusable data directory, a port in use, or a
                server that would not start (the last line of its log is quoted). Whatever
                was started before the failure is stopped again.
        """
        if self.requested_port is not None and not 0 < self.requested_port < 65536:
            raise EstateError(f"port {self.requested_port} is not a valid TCP port (1-65535)")
        for name in _BINARIES:
            path = find_binary(name)
            if name == "pg_ctl":
                self._bin_dir = path.parent
        running = self._running_pid()
        if running is not None:
            self.port = self._port_from_pidfile()
            if self.requested_port is not None and self.port != self.requested_port:
                raise EstateError(
                    f"a PostgreSQL server already runs on {self.data_dir} with port {self.port},"
                    f" not the requested port {self.requested_port}: stop it first"
                )
            self.adopted = True
            self._wait_ready()
            return self
        self._prepare_data_dir()
        self._remove_stale_pidfile()
        if self.requested_port is not None:
            if port_in_use(self.requested_port):
                raise EstateError(
                    f"port {self.requested_port} on {HOST} is already in use: choose another port"
                )
            self.port = self.requested_port
        else:
            self.port = free_port()
        try:
            self._pg_ctl_start()
            self._wait_ready()
        except BaseException:
            self._force_stop()
            raise
        self.adopted = False
        return self

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``) and wait until every backend is gone.

        Idempotent. Escalates to an immediate shutdown if a fast one does not finish.
        """
        if self._bin_dir is None:
            with contextlib.suppress(EstateError):
                self._bin_dir = find_binary("pg_ctl").parent
        pid = self._running_pid()
        if pid is None or self._bin_dir is None:
            return
        self._pg_ctl("stop", "-m", "fast", "-w", "-t", "30", check=False)
        if not self._wait_gone(pid, 15):
            self._force_stop()

    def is_running(self) -> bool:
        """Whether a live postmaster owns this data directory."""
        return self._running_pid() is not None

    def dsn(self, dbname: str) -> str:
        """A libpq URL for ``dbname`` as the trusted superuser ``fieldforce``."""
        if self.port is None:
            raise EstateError(f"the PostgreSQL cluster in {self.data_dir} is not started")
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{dbname}"

    def create_database(self, name: str) -> None:
        """Create database ``name`` (UTF8) unless it exists already."""
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "select 1 from pg_database where datname = %s", (name,)
            ).fetchone()
            if not exists:
                conn.execute(f"create database \"{name}\" template template0 encoding 'UTF8'")

    def __enter__(self) -> PostgresCluster:
        """Start the cluster for the ``with`` block."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the cluster whatever happened in the block."""
        self.stop()

    # -- internals -------------------------------------------------------------------------

    @staticmethod
    def _server_account() -> pwd.struct_passwd | None:
        """The account the server runs as: ourselves, or an unprivileged one when we are root."""
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            with contextlib.suppress(KeyError):
                return pwd.getpwnam(name)
        raise EstateError(
            "running as root and neither a 'postgres' nor a 'nobody' account exists to run PostgreSQL"
        )

    def _command(self, *args: str) -> list[str]:
        if self._run_as is None:
            return list(args)
        return [
            "setpriv",
            f"--reuid={self._run_as.pw_uid}",
            f"--regid={self._run_as.pw_gid}",
            "--clear-groups",
            "--",
            *args,
        ]

    def _run(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        if self._run_as is not None:
            env["HOME"] = self._run_as.pw_dir
        proc = subprocess.run(
            self._command(*args),
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
            cwd="/",
        )
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise EstateError(
                f"{Path(args[0]).name} failed for {self.data_dir}: {detail[-1] if detail else proc.returncode}"
            )
        return proc

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self._bin_dir is not None
        return self._run(
            str(self._bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args, check=check
        )

    def _prepare_data_dir(self) -> None:
        """Create the data directory and initialise it when it is missing or empty."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            if not os.access(self.data_dir, os.W_OK | os.X_OK):
                raise PermissionError(errno.EACCES, "not writable")
            probe = self.data_dir / ".write_probe"
            probe.touch()
            probe.unlink()
            if not self.log_path.exists():
                self.log_path.touch()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise EstateError(f"data directory {self.data_dir} is not writable: {reason}") from exc
        if self._run_as is not None:
            self._hand_over()
        if not (self.data_dir / "PG_VERSION").exists():
            if any(self.data_dir.iterdir()):
                raise EstateError(
                    f"data directory {self.data_dir} is neither empty nor a PostgreSQL cluster: empty it or choose another"
                )
            assert self._bin_dir is not None
            self._run(
                str(self._bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            )
            with (self.data_dir / "postgresql.conf").open("a") as conf:
                conf.write("\n# fieldforce sandbox settings\n")
                conf.writelines(f"{key} = {value}\n" for key, value in _SERVER_SETTINGS.items())

    def _hand_over(self) -> None:
        """Give the data directory and log to the server account and prove it can reach them."""
        assert self._run_as is not None
        uid, gid = self._run_as.pw_uid, self._run_as.pw_gid
        for path in (self.data_dir, self.log_path):
            if path.stat().st_uid != uid:
                os.chown(path, uid, gid)
        os.chmod(self.data_dir, 0o700)
        probe = self._run(
            "test", "-w", str(self.data_dir), "-a", "-w", str(self.log_path), check=False
        )
        if probe.returncode != 0:
            raise EstateError(
                f"data directory {self.data_dir} is not writable for the '{self._run_as.pw_name}' account"
                " PostgreSQL runs as (root may not run it): make its parent directories traversable (chmod o+x)"
            )

    def _pidfile(self) -> Path:
        return self.data_dir / "postmaster.pid"

    def _running_pid(self) -> int | None:
        """The postmaster pid from ``postmaster.pid`` if that process is alive and ours."""
        try:
            pid = int(self._pidfile().read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        if pid_alive(pid) and "postgres" in cmdline(pid):
            return pid
        return None

    def _port_from_pidfile(self) -> int:
        lines = self._pidfile().read_text().splitlines()
        return int(lines[3])

    def _remove_stale_pidfile(self) -> None:
        """Delete a ``postmaster.pid`` left by a killed server whose pid is dead or reused."""
        if self._pidfile().exists() and self._running_pid() is None:
            self._pidfile().unlink()

    def _pg_ctl_start(self) -> None:
        socket_dir = self.data_dir
        socket_opt = f"-k {socket_dir}" if len(str(socket_dir)) < _MAX_SOCKET_PATH - 16 else "-k ''"
        proc = self._pg_ctl(
            "-l",
            str(self.log_path),
            "-w",
            "-t",
            str(_START_TIMEOUT_S),
            "-o",
            # On the command line, not only in postgresql.conf: a data directory initialised
            # before a setting was added gets it too.
            f"-p {self.port} -h {HOST} {socket_opt}"
            f" -c max_prepared_transactions={_SERVER_SETTINGS['max_prepared_transactions']}",
            "start",
            check=False,
        )
        if proc.returncode != 0:
            raise EstateError(
                f"PostgreSQL in {self.data_dir} did not start on port {self.port}: {self._last_log_line()}"
            )

    def _last_log_line(self) -> str:
        try:
            lines = [
                ln for ln in self.log_path.read_text(errors="replace").splitlines() if ln.strip()
            ]
        except OSError:
            return "no log"
        interesting = [ln for ln in lines if "FATAL" in ln or "ERROR" in ln]
        return (interesting or lines or ["empty log"])[-1].strip()

    def _wait_ready(self) -> None:
        def probe() -> None:
            with psycopg.connect(self.dsn("postgres"), connect_timeout=5) as conn:
                conn.execute("select 1")

        retrying = Retrying(
            retry=retry_if_exception_type(psycopg.OperationalError),
            stop=stop_after_delay(_START_TIMEOUT_S),
            wait=wait_fixed(0.1),
        )
        try:
            retrying(probe)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            raise EstateError(
                f"PostgreSQL in {self.data_dir} on port {self.port} never accepted connections: {last}"
            ) from None

    @staticmethod
    def _wait_gone(pid: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not pid_alive(pid) or "postgres" not in cmdline(pid):
                return True
            time.sleep(0.05)
        return False

    def _force_stop(self) -> None:
        """Best-effort immediate shutdown, then SIGKILL of anything still running on our data dir."""
        pid = self._running_pid()
        if pid is not None and self._bin_dir is not None:
            self._pg_ctl("stop", "-m", "immediate", "-w", "-t", "10", check=False)
            self._wait_gone(pid, 10)
        for leftover in postgres_processes(self.data_dir):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(leftover, signal.SIGKILL)
