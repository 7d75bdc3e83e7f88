"""The whole test suite, as CI and the README run it: ``./fieldforce test``.

Order is cheapest first so a style slip fails in seconds, not after the slow end-to-end tests:
lint (ruff, sqlfluff) -> dbt manifest preparation -> Chromium for the browser tests (installed
with apt-get when missing: CI machines are fresh) -> pytest (unit, integration and e2e; all three
always run, so none can go stale). Extra arguments go to pytest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from analytics_platform.transform.invocation import dbt_command
from devstack.stack import REPO_ROOT

DBT_DIR = REPO_ROOT / "dbt_fieldforce"
# Debian's package, never Playwright's own download (it needs the internet); other distributions
# name the same browser differently.
CHROMIUM_NAMES = ("chromium", "chromium-browser")


def chromium_path() -> str | None:
    """The Chromium the browser tests drive, or None when the machine has none."""
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def ensure_chromium() -> str | None:
    """Install Chromium with apt-get when it is missing; return why not when that is impossible."""
    if chromium_path():
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "no chromium binary on PATH: install it (e.g. `apt-get install chromium`) and rerun"
    print("\n==> chromium: apt-get install -y chromium", flush=True)  # noqa: T201
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return (
                f"`{' '.join(cmd)}` failed (exit {done.returncode}): {done.stderr.strip()[-500:]}"
            )
    return None if chromium_path() else "apt-get installed chromium but no binary is on PATH"


def _step(title: str, argv: Sequence[str]) -> int:
    print(f"\n==> {title}: {' '.join(argv)}", flush=True)  # noqa: T201 - a CLI's progress
    return subprocess.call(list(argv), cwd=REPO_ROOT)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every check; return non-zero when any of them fails."""
    pytest_args = list(sys.argv[1:] if argv is None else argv)
    py = sys.executable
    failures: list[str] = []
    steps: list[tuple[str, list[str]]] = [
        ("ruff check", [py, "-m", "ruff", "check", "."]),
        ("ruff format", [py, "-m", "ruff", "format", "--check", "."]),
    ]
    if (DBT_DIR / "models").is_dir():
        steps.append(("sqlfluff", [py, "-m", "sqlfluff", "lint", "dbt_fieldforce/models"]))
        # Dagster loads dbt assets from a prepared manifest, never parsing at load time.
        # As runs invoke dbt: dbt keys partial parsing on the CLI's target.
        parse = dbt_command("parse", quiet=True, target="local", project_dir=Path(DBT_DIR.name))
        steps.append(("dbt parse (manifest)", parse))
    for title, cmd in steps:
        if _step(title, cmd) != 0:
            failures.append(title)
    if problem := ensure_chromium():
        print(f"\nchromium: {problem}", flush=True)  # noqa: T201
        failures.append("chromium")
    code = _step("pytest", [py, "-m", "pytest", *pytest_args])
    if code != 0:
        failures.append(f"pytest (exit {code})")
    if failures:
        print(f"\nFAILED: {', '.join(failures)}", flush=True)  # noqa: T201
        return 1
    print("\nAll checks passed.", flush=True)  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
