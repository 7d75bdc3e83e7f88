"""Where a benchmark's figures came from: the machine and the commit, stamped into every JSON.

A figure without its machine cannot be compared with another one; the README's table quotes
both from here.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
"""Where every benchmark writes ``NAME.json`` by default, and the report reads them."""


def machine() -> dict[str, Any]:
    """Cores, memory, OS and Python of this machine."""
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "cores": os.cpu_count() or 1,
        "memory_gb": round(pages / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def git_sha() -> str | None:
    """The commit the benchmark ran on, or None outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=REPO_ROOT,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None
