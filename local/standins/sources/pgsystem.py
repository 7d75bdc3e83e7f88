"""What the machine offers PostgreSQL: where its server binaries are, which servers are alive.

Live servers are read from ``/proc``; tests use :func:`postgres_processes` to prove that no
server outlives :meth:`standins.sources.postgres.PostgresCluster.stop`.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

from standins.sources.errors import EstateError

_INSTALL_HINT = (
    "install PostgreSQL (Debian/Ubuntu: apt-get install postgresql-15) or put its bin/ on PATH"
)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (possibly owned by another account)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cmdline(pid: int) -> str:
    """The command line of process ``pid`` with spaces for NULs, or ``""`` when it is gone."""
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def postgres_processes(data_dir: Path) -> list[int]:
    """Pids of live ``postgres`` processes started on ``data_dir``.

    The postmaster is the process whose command line names the data directory.

    Args:
        data_dir: The cluster's data directory.

    Returns:
        The pids, possibly empty.
    """
    needle = str(data_dir)
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        cmd = cmdline(int(entry.name))
        if needle in cmd and Path(cmd.split(" ", 1)[0]).name in ("postgres", "postmaster"):
            pids.append(int(entry.name))
    return pids


def find_binary(name: str) -> Path:
    """Locate a PostgreSQL server binary on PATH or in ``/usr/lib/postgresql/*/bin``.

    Debian installs the server binaries outside PATH, so the versioned directories are
    searched too (newest first).

    Raises:
        EstateError: the binary is nowhere to be found.
    """
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
        reverse=True,
    )
    if candidates:
        return Path(candidates[0])
    raise EstateError(
        f"PostgreSQL binary '{name}' not found on PATH or in /usr/lib/postgresql/*/bin: {_INSTALL_HINT}"
    )
