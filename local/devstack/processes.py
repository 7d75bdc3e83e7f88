"""Supervise the processes of the local platform: start, watch, and stop every one of them.

Each child runs in its own process group so that stopping it also stops whatever it spawned
(uvicorn workers, dagster's code servers, dbt). Stop order is the reverse of start order.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Child:
    """One supervised process and where its output goes."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path


@dataclass
class Supervisor:
    """Starts child processes, and stops all of them (and their children) exactly once."""

    log_dir: Path
    children: list[Child] = field(default_factory=list)
    on_stop: list[Callable[[], None]] = field(default_factory=list)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Child:
        """Start ``argv`` in a new process group, logging to ``<log_dir>/<name>.log``."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        log = log_path.open("ab")
        popen = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )
        log.close()
        child = Child(name, popen, log_path)
        self.children.append(child)
        return child

    def dead(self) -> list[Child]:
        """Children that exited on their own."""
        return [c for c in self.children if c.popen.poll() is not None]

    def stop_one(self, name: str, timeout_s: float = 15.0) -> None:
        """Stop the child ``name`` (and its group) ahead of the others, waiting for it.

        For a child whose shutdown still talks to another child (the webhook receiver
        unregisters with the Fivetran API): stopping all at once would race the two.

        Args:
            name: the child's name as started; nothing happens when there is none.
            timeout_s: seconds to wait after SIGTERM before SIGKILL.
        """
        for child in [c for c in self.children if c.name == name]:
            _signal_group(child.popen, signal.SIGTERM)
            _reap(child.popen, timeout_s)
            self.children.remove(child)

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop every child (SIGTERM to its group, then SIGKILL), then run ``on_stop`` hooks."""
        for child in reversed(self.children):
            _signal_group(child.popen, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for child in reversed(self.children):
            _reap(child.popen, max(0.1, deadline - time.monotonic()))
        self.children.clear()
        hooks, self.on_stop = self.on_stop, []
        for hook in reversed(hooks):
            hook()


def _reap(popen: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Wait for a signalled child, SIGKILL its group when it overstays, then sweep the group."""
    try:
        popen.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _signal_group(popen, signal.SIGKILL)
        popen.wait(timeout=5)
    # The leader may be gone while grandchildren linger: sweep the group.
    _signal_group(popen, signal.SIGKILL)


def _signal_group(popen: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(popen.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
