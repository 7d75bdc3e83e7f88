"""Peak resident memory of every process a benchmark starts, sampled from ``/proc``.

A platform is a dozen processes (PostgreSQL, the local Fivetran, the change stream, the
Dagster webserver, daemon, code server and run workers, the stand-ins), several of them started
by others, and PostgreSQL detaches from whoever started it. So a sampler thread reads, every
``interval_s``, every process that descends from this one or whose command line names the
platform's home, and keeps for each its kernel high-water mark (``VmHWM``: the peak resident set
of its whole life, so a peak between two samples is not missed while the process lives) and the
largest resident set seen in each phase the caller names.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GIB_KIB = 2**20
"""KiB per GiB (``/proc/<pid>/status`` counts in KiB)."""

ROLES = (
    ("dagster-webserver", "dagster webserver"),
    ("dagster-daemon", "dagster daemon"),
    ("api grpc", "dagster code server"),
    ("code-server", "dagster code server"),
    ("execute_run", "dagster run worker"),
    ("execute_step", "dagster run worker"),
    # The code server starts each run in a child it spawns with multiprocessing (its command
    # line names no dagster entry point).
    ("multiprocessing.spawn", "dagster run worker"),
    ("standins.fivetran", "local fivetran"),
    ("standins.sources", "change stream"),
    ("standins.slack", "slack stand-in"),
    ("standins.pagerduty", "pagerduty stand-in"),
    ("analytics_platform.ingest.webhook", "webhook receiver"),
    ("bin/dbt", "dbt"),
)
"""A substring of the command line -> the role reported (first match wins)."""


def role(cmdline: str, pid: int, own_pid: int) -> str:
    """What a process is, from its command line (``postgres`` by its program name)."""
    if pid == own_pid:
        return "benchmark (generator, syncs in process)"
    program = Path(cmdline.split(" ", 1)[0]).name
    if program.startswith(("postgres", "postmaster")):
        return "postgres"
    for needle, name in ROLES:
        if needle in cmdline:
            return name
    return program or "unknown"


def _read(pid: int) -> tuple[int, str, int, int] | None:
    """``(ppid, cmdline, VmRSS KiB, VmHWM KiB)`` of a live process; None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except (OSError, UnicodeDecodeError):
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    try:
        ppid = int(fields["PPid"])
        rss = int(fields.get("VmRSS", "0 kB").split()[0])
        hwm = int(fields.get("VmHWM", "0 kB").split()[0])
    except (KeyError, ValueError):
        return None
    return ppid, cmdline, rss, hwm


@dataclass
class MemorySampler:
    """Samples the platform's processes on a thread; :meth:`phase` names what is happening."""

    marker: str
    """A string in the command line of processes that belong to the platform (its home)."""
    interval_s: float = 0.5
    own_pid: int = field(default_factory=os.getpid)
    peak_kib: dict[str, int] = field(default_factory=dict)
    """Per role, the largest high-water mark of any of its processes."""
    phase_peak_kib: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per phase, per role, the largest resident set sampled."""
    phase_total_kib: dict[str, int] = field(default_factory=dict)
    """Per phase, the largest sum of every sampled process's resident set."""
    current: str = "start"
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> MemorySampler:
        """Start sampling on a daemon thread."""
        self._thread = threading.Thread(target=self._loop, name="memory-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop sampling, after one last sample."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.sample()

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Attribute samples to ``name`` while the block runs."""
        previous, self.current = self.current, name
        try:
            yield
        finally:
            self.sample()
            self.current = previous

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def sample(self) -> None:
        """Read every platform process once."""
        found: dict[int, tuple[int, str, int, int]] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and (read := _read(int(entry.name))) is not None:
                found[int(entry.name)] = read
        ours = {self.own_pid}
        # Descendants: parents before children is not guaranteed, so iterate to a fixed point.
        changed = True
        while changed:
            changed = False
            for pid, (ppid, cmdline, _, _) in found.items():
                if pid not in ours and (ppid in ours or self.marker in cmdline):
                    ours.add(pid)
                    changed = True
        phase = self.phase_peak_kib.setdefault(self.current, {})
        total = 0
        for pid in ours & found.keys():
            _, cmdline, rss, hwm = found[pid]
            name = role(cmdline, pid, self.own_pid)
            self.peak_kib[name] = max(self.peak_kib.get(name, 0), hwm)
            phase[name] = max(phase.get(name, 0), rss)
            total += rss
        self.phase_total_kib[self.current] = max(self.phase_total_kib.get(self.current, 0), total)

    def report(self) -> dict[str, Any]:
        """GiB figures: overall peak of any one process, per role, per phase."""

        def gib(kib: int) -> float:
            return round(kib / GIB_KIB, 3)

        return {
            "peak_rss_gib": gib(max(self.peak_kib.values(), default=0)),
            "peak_rss_by_role_gib": {k: gib(v) for k, v in sorted(self.peak_kib.items())},
            "phase_rss_gib": {
                phase: {
                    "largest_process": gib(max(roles.values(), default=0)),
                    "largest_role": max(roles, key=lambda r: roles[r]) if roles else None,
                    "all_processes": gib(self.phase_total_kib.get(phase, 0)),
                }
                for phase, roles in self.phase_peak_kib.items()
            },
        }
