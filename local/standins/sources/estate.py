"""The estate as one object: the API the CLI (``fieldforce up`` / ``generate``) and tests use.

One cohesive facade over the generator, the change stream and PostgreSQL (its methods share
the lock and the persisted state, so they stay together).

Typical use::

    estate = Estate(home, seed=42, scale=0.001)
    estate.start()               # PostgreSQL up (existing data reused)
    estate.generate(progress)    # initial history up to the real now (drops and rebuilds)
    estate.advance(60)           # one simulated hour of changes
    estate.connection_info()     # DSNs and directories for the sync service
    estate.stop()
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from standins.sources import changes, checksums, generator, truth
from standins.sources.config import (
    DEFAULT_HISTORY_DAYS,
    DEFAULT_SCALE,
    DEFAULT_SEED,
    MINUTE_US,
    estate_start,
    from_us,
    grid_floor_us,
    resolve_tenants,
    start_for,
    validate_scale,
    validate_seed,
)
from standins.sources.errors import EstateError
from standins.sources.postgres import PostgresCluster, port_in_use
from standins.sources.state import EstateState

Progress = Callable[[str, int, int], None]


def default_home() -> Path:
    """``$FIELDFORCE_HOME``, else ``<repo>/.fieldforce``."""
    env = os.environ.get("FIELDFORCE_HOME")
    if env:
        return Path(env).expanduser().absolute()
    return Path(__file__).resolve().parents[3] / ".fieldforce"


class Estate:
    """The FieldForce source estate living under ``home`` (``FIELDFORCE_HOME``).

    Args:
        home: Root directory; PostgreSQL data goes to ``home/pg``, files and state to
            ``home/sources``.
        seed: Seed of the generator. ``None``: the seed in ``estate.json`` if the home holds an
            estate, else 42.
        scale: Volume factor in (0, 1]; 1.0 = the design's full volumes. ``None``: as stored, else 0.001.
        tenants: Tenant names or a count (1-8). ``None``: as stored, else the two defaults.
        history_days: Days of history before the simulated now.
        port: PostgreSQL port; ``None`` reuses the last port when free, else picks a free one.

    Raises:
        EstateError: a bad seed, scale or tenant list.
    """

    def __init__(
        self,
        home: Path | None = None,
        seed: int | None = None,
        scale: float | None = None,
        tenants: Sequence[str] | int | None = None,
        history_days: int = DEFAULT_HISTORY_DAYS,
        port: int | None = None,
    ) -> None:
        """Validate parameters and locate the home; nothing starts yet."""
        self.paths = generator.Paths(Path(home) if home is not None else default_home())
        stored = self._load_state()
        self.seed = validate_seed(
            seed if seed is not None else (stored.seed if stored else DEFAULT_SEED)
        )
        self.scale = validate_scale(
            scale if scale is not None else (stored.scale if stored else DEFAULT_SCALE)
        )
        chosen = tenants if tenants is not None else (stored.tenants if stored else 2)
        self.tenants = resolve_tenants(chosen)
        if not isinstance(history_days, int) or history_days < 1:
            raise EstateError(
                f"history_days {history_days!r} is invalid: use a positive number of days"
            )
        self.history_days = history_days
        self.port = port
        self.cluster: PostgresCluster | None = None
        self.owns_cluster = False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Estate:
        """Start PostgreSQL on the home's data directory, reusing any existing data.

        Raises:
            EstateError: see :meth:`PostgresCluster.start`; nothing is left running on failure.
        """
        if self.cluster is not None and self.cluster.is_running():
            return self
        try:
            self.paths.sources.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EstateError(
                f"home directory {self.paths.home} is not writable: {exc.strerror or exc}"
            ) from exc
        port = self.port
        stored = self._load_state()
        if (
            port is None
            and stored is not None
            and stored.port is not None
            and not port_in_use(stored.port)
        ):
            port = stored.port
        cluster = PostgresCluster(self.paths.pg, port)
        cluster.start()
        try:
            owner = self._owner_pid()
            # A server started by a live process of ours stays theirs; one whose starter died
            # (a killed run) is an orphan: we adopt it and stop it when we are done.
            self.owns_cluster = not (cluster.adopted and owner is not None and owner != os.getpid())
            if self.owns_cluster:
                self._owner_file.write_text(f"{os.getpid()}\n")
            if stored is not None and stored.port != cluster.port:
                stored.port = cluster.port
                stored.save(self.paths.state)
        except BaseException:
            if not cluster.adopted:
                cluster.stop()
            raise
        self.cluster = cluster
        return self

    def stop(self, force: bool = False) -> None:
        """Stop PostgreSQL (waiting until no server process is left) if this object owns it.

        Args:
            force: Stop the server even if another live process started it.
        """
        if self.cluster is not None and (self.owns_cluster or force):
            self.cluster.stop()
            self._owner_file.unlink(missing_ok=True)
        self.cluster = None

    @property
    def _owner_file(self) -> Path:
        return self.paths.home / "pg.owner"

    def _owner_pid(self) -> int | None:
        """The pid that started the running server, if that process is still alive."""
        try:
            pid = int(self._owner_file.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def __enter__(self) -> Estate:
        """Start the estate for a ``with`` block."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop whatever this object started."""
        self.stop()

    # -- data ------------------------------------------------------------------------------

    def generate(
        self, progress: Progress | None = None, now: datetime | None = None
    ) -> generator.Report:
        """Build the initial history (drops any previous estate data in this home).

        The estate starts at the UTC midnight ``history_days`` before ``now``'s day
        (:func:`~standins.sources.config.start_for`, stored in ``estate.json``); the history is
        generated up to ``now``'s midnight and the change stream runs it on to ``now``, so the
        simulated clock ends at ``now`` rounded down to the 5-minute grid. The data is a pure
        function of the seed and of time since the start: the same seed generated later gives
        the same data shifted in time.

        Args:
            progress: Called as ``progress(stage, done, total)`` after each step.
            now: The moment the history ends at (default: the real now).

        Returns:
            Rows per table and seconds per system.
        """
        cluster = self._require_started()
        now = now or datetime.now(UTC)
        start = start_for(now, self.history_days)
        with estate_start(start), self._lock():
            history_end = generator.history_now_us(self.history_days)
            state = EstateState(
                seed=self.seed,
                scale=self.scale,
                tenants=list(self.tenants),
                history_days=self.history_days,
                clock_us=history_end,
                applied_until_us=history_end,
                gps_next_seq=0,
                sheet_revision=0,
                port=cluster.port,
                start_us=start,
            )
            # Before anything is dropped: a home the new estate cannot fit keeps its old one.
            generator.check_resources(self.paths, self.scale, len(self.tenants))
            if self.paths.state.exists():
                self.paths.state.unlink()
            # A step a killed stream left prepared would keep its databases from being dropped.
            changes.finish_interrupted(cluster, None)
            report = generator.generate(cluster, self.paths, state, progress)
            state.generated = True
            state.save(self.paths.state)
            changes.advance(
                cluster,
                self.paths,
                state,
                max(history_end, grid_floor_us(now)),
                save=lambda: state.save(self.paths.state),
            )
            state.save(self.paths.state)
            if progress is not None:
                progress("changes up to now", 1, 1)
        return report

    def advance(self, minutes: float) -> datetime:
        """Move the simulated clock forward and apply the changes that happened meanwhile.

        Changes are applied on a fixed 5-minute grid (seeded by grid position), so
        ``advance(60)`` and twelve ``advance(5)`` produce the same data.

        Returns:
            The new simulated now.
        """
        if minutes < 0:
            raise EstateError(f"cannot advance by {minutes} minutes: time only moves forward")
        cluster = self._require_started()
        with self._lock():
            state = self._require_state()
            target = state.clock_us + round(minutes * MINUTE_US)
            with estate_start(state.start_us):
                changes.advance(
                    cluster, self.paths, state, target, save=lambda: state.save(self.paths.state)
                )
            state.save(self.paths.state)
            return from_us(state.clock_us)

    def catch_up(self, progress: Progress | None = None, now: datetime | None = None) -> float:
        """Bring a reused estate's clock up to ``now``, applying the changes it missed.

        A home generated yesterday and started again today would otherwise resume at
        yesterday's clock, and at real-time speed never reach the calendar again: the
        partitions, freshness and the UI would tell another story than the data. The changes
        of the gap are the very ones a running stream would have applied (the grid is seeded
        by position), applied hour by hour so that ``progress`` can follow. A clock already at
        or past ``now`` (a faster ``--speed`` runs ahead of the calendar) is left alone.

        Returns:
            The simulated minutes applied (0 when nothing was missed).
        """
        cluster = self._require_started()
        target = grid_floor_us(now or datetime.now(UTC))
        with self._lock():
            state = self._require_state()
            begin = state.clock_us
            if target <= begin:
                return 0.0
            hours = -(-(target - begin) // (60 * MINUTE_US))
            with estate_start(state.start_us):
                for hour in range(1, hours + 1):
                    changes.advance(
                        cluster,
                        self.paths,
                        state,
                        min(target, begin + hour * 60 * MINUTE_US),
                        save=lambda: state.save(self.paths.state),
                    )
                    if progress is not None:
                        progress("changes missed while stopped", hour, hours)
            state.save(self.paths.state)
            return (target - begin) / MINUTE_US

    def run_change_stream(
        self, speed: float, stop_event: threading.Event, tick_seconds: float = 1.0
    ) -> None:
        """Advance the clock in real time until ``stop_event`` is set (the demo loop).

        Args:
            speed: Simulated seconds per real second (60 = one simulated minute per second).
            stop_event: Set it from another thread (or a signal handler) to stop.
            tick_seconds: Real seconds between advances.
        """
        if speed <= 0:
            raise EstateError(f"speed {speed} is invalid: use a positive factor such as 60")
        last = time.monotonic()
        while not stop_event.wait(tick_seconds):
            now = time.monotonic()
            self.advance((now - last) * speed / 60)
            last = now

    def ground_truth(self) -> dict[str, list[dict[str, Any]]]:
        """Revenue, job and technician figures from the sources (see :mod:`standins.sources.truth`)."""
        self._require_started()
        return truth.ground_truth(self.jobs_db_dsns())

    def write_ground_truth(self, path: Path) -> Path:
        """Write :meth:`ground_truth` as JSON to ``path``."""
        return truth.write_json(self.ground_truth(), path)

    def checksums(self) -> dict[str, str]:
        """SHA-256 per table of the stored data (see :mod:`standins.sources.checksums`)."""
        cluster = self._require_started()
        return checksums.checksums(
            self.jobs_db_dsns(),
            cluster.dsn(generator.SAAS_DB),
            self.paths.telematics,
            self.paths.sheets,
        )

    # -- discovery -------------------------------------------------------------------------

    @property
    def clock(self) -> datetime:
        """The simulated now (the real now on the 5-minute grid if nothing was generated yet)."""
        state = self._load_state()
        return from_us(state.clock_us if state else grid_floor_us(datetime.now(UTC)))

    @property
    def time_origin(self) -> datetime:
        """Where the estate's simulated time starts (a UTC midnight, from ``estate.json``)."""
        state = self._load_state()
        now = datetime.now(UTC)
        return from_us(state.start_us if state else start_for(now, self.history_days))

    def jobs_db_dsns(self) -> dict[str, str]:
        """``{tenant: dsn}`` of the Jobs DBs."""
        cluster = self._require_started()
        return {t: cluster.dsn(generator.jobs_db_name(t)) for t in self.tenants}

    def connection_info(self) -> dict[str, Any]:
        """How the sync service reaches every system.

        Returns:
            ``jobs_db_dsns`` (tenant -> DSN), ``saas_dsn`` (Salesforce, QuickBooks and
            ServiceTitan schemas), ``telematics_dir``, ``sheets_dir``, ``tenants``, ``port``,
            ``clock`` and ``start`` (ISO UTC: the data's first day is the start's) and
            ``state_path``.
        """
        cluster = self._require_started()
        return {
            "jobs_db_dsns": self.jobs_db_dsns(),
            "saas_dsn": cluster.dsn(generator.SAAS_DB),
            "telematics_dir": str(self.paths.telematics),
            "sheets_dir": str(self.paths.sheets),
            "tenants": list(self.tenants),
            "port": cluster.port,
            "clock": self.clock.isoformat(),
            "start": self.time_origin.isoformat(),
            "state_path": str(self.paths.state),
        }

    # -- internals -------------------------------------------------------------------------

    def _load_state(self) -> EstateState | None:
        try:
            return EstateState.load(self.paths.state)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (ValueError, TypeError, KeyError) as exc:
            raise EstateError(
                f"estate state {self.paths.state} is unreadable ({exc}): regenerate the estate"
            ) from exc

    def _require_state(self) -> EstateState:
        state = self._load_state()
        if state is None or not state.generated:
            raise EstateError(f"no generated estate in {self.paths.home}: run generate first")
        return state

    def _require_started(self) -> PostgresCluster:
        if self.cluster is None or not self.cluster.is_running():
            raise EstateError(f"the estate in {self.paths.home} is not started: call start() first")
        return self.cluster

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """One writer at a time across processes (the CLI's stream and a test may share a home)."""
        self.paths.sources.mkdir(parents=True, exist_ok=True)
        with (self.paths.sources / "estate.lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
