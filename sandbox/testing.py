"""The whole test suite, as CI and the README run it: ``./fieldforce test``.

Order is cheapest first so a style slip fails in seconds, not after the slow end-to-end tests:
lint (ruff, sqlfluff) -> dbt manifest preparation -> pytest (unit, integration and e2e; all
three always run, so none can go stale). Extra arguments go to pytest.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from sandbox.stack import REPO_ROOT

DBT_DIR = REPO_ROOT / "dbt_fieldforce"


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
        dbt = str(Path(py).parent / "dbt")
        steps.append(
            (
                "dbt parse (manifest)",
                [
                    dbt,
                    "parse",
                    "--quiet",
                    "--project-dir",
                    "dbt_fieldforce",
                    "--profiles-dir",
                    "dbt_fieldforce",
                ],
            )
        )
    for title, cmd in steps:
        if _step(title, cmd) != 0:
            failures.append(title)
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
