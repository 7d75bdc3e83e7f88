"""The stack file: how to reach every running part of the local platform.

While `fieldforce up` (or a test fixture that starts the stack) runs, it keeps
``$FIELDFORCE_HOME/stack.json`` up to date and removes it on stop. Its keys are listed in
``docs/CONTRACTS.md``; add to them freely, never rename.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


def fieldforce_home() -> Path:
    """Where a local run keeps its data: ``$FIELDFORCE_HOME`` or ``<repo>/.fieldforce``."""
    return Path(os.environ.get("FIELDFORCE_HOME", REPO_ROOT / ".fieldforce")).resolve()


def stack_path(home: Path | None = None) -> Path:
    """The stack file of ``home`` (default: :func:`fieldforce_home`)."""
    return (home or fieldforce_home()) / "stack.json"


def write_stack(info: dict[str, Any], home: Path | None = None) -> Path:
    """Write the stack file atomically, so a reader never sees half a file."""
    path = stack_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


def read_stack(home: Path | None = None) -> dict[str, Any]:
    """Read the stack file; raises FileNotFoundError when no stack is running."""
    return json.loads(stack_path(home).read_text())


def remove_stack(home: Path | None = None) -> None:
    """Remove the stack file (on stop)."""
    stack_path(home).unlink(missing_ok=True)
