"""The one place that spells a ``dbt`` command line.

Every caller (the manifest preparation, the test command, slim CI, backfills, tests and
benchmarks) asks :func:`dbt_args` for its arguments, so the flags and their order are decided
once: the command words, then where the project, profiles, target and outputs are, then the
selection, then anything extra. :func:`dbt_args` is pure (nothing runs, nothing is read) so a
unit test pins it; :func:`run_dbt` runs it with this environment's dbt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

VENV_DBT = Path(sys.executable).parent / "dbt"
"""The ``dbt`` installed next to this interpreter: this environment's dbt-core."""


class DbtError(RuntimeError):
    """A dbt command exited non-zero; the message ends with the tail of its output."""

    def __init__(self, argv: Sequence[str], result: subprocess.CompletedProcess[str]) -> None:
        """Keep the result and name the command (its words, not its paths)."""
        self.result = result
        words = " ".join(a for a in argv[1:] if not a.startswith("-"))[:200]
        output = (result.stdout + result.stderr).strip()[-4000:]
        super().__init__(f"dbt {words} failed (exit {result.returncode}):\n{output}")


def dbt_args(
    command: str,
    *,
    target: str | None = None,
    project_dir: Path | None = None,
    profiles_dir: Path | None = None,
    target_path: Path | None = None,
    log_path: Path | None = None,
    select: Sequence[str] = (),
    exclude: Sequence[str] = (),
    vars: Mapping[str, Any] | None = None,
    full_refresh: bool = False,
    quiet: bool = False,
    extra: Sequence[str] = (),
) -> list[str]:
    """The arguments of one dbt invocation, without the executable.

    Args:
        command: the dbt command, words separated by spaces (``"build"``, ``"docs generate"``).
        target: ``--target``; None leaves it to the profile (``DBT_TARGET``).
        project_dir: ``--project-dir``; None means dbt's working directory.
        profiles_dir: ``--profiles-dir``; None means ``project_dir`` when that is given.
        target_path: ``--target-path``, where manifests and run results go.
        log_path: ``--log-path``.
        select: ``--select`` node selectors.
        exclude: ``--exclude`` node selectors.
        vars: ``--vars``, as JSON.
        full_refresh: ``--full-refresh``.
        quiet: ``--quiet`` (only errors on stdout).
        extra: anything else, appended as given (``--state``, ``--defer``, ``--threads`` ...).

    Returns:
        The argument list, for ``dbtRunner().invoke`` or after the executable.
    """
    args = command.split()
    if quiet:
        args.append("--quiet")
    if project_dir is not None:
        args += ["--project-dir", str(project_dir)]
    profiles = profiles_dir if profiles_dir is not None else project_dir
    if profiles is not None:
        args += ["--profiles-dir", str(profiles)]
    if target is not None:
        args += ["--target", target]
    if target_path is not None:
        args += ["--target-path", str(target_path)]
    if log_path is not None:
        args += ["--log-path", str(log_path)]
    if select:
        args += ["--select", *select]
    if exclude:
        args += ["--exclude", *exclude]
    if vars:
        args += ["--vars", json.dumps(dict(vars))]
    if full_refresh:
        args.append("--full-refresh")
    return [*args, *extra]


def dbt_command(command: str, **options: Any) -> list[str]:
    """This environment's dbt executable followed by :func:`dbt_args` (same keywords)."""
    return [str(VENV_DBT), *dbt_args(command, **options)]


def run_dbt(
    command: str,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
    check: bool = True,
    **options: Any,
) -> subprocess.CompletedProcess[str]:
    """Run :func:`dbt_command` and capture its output as text.

    Args:
        command: as for :func:`dbt_args`.
        env: the whole environment of the run (default: this process's).
        cwd: the working directory (default: this process's).
        timeout: seconds before the run is killed (``subprocess.TimeoutExpired``).
        check: raise :class:`DbtError` when dbt exits non-zero.
        **options: the keywords of :func:`dbt_args`.

    Returns:
        The completed process (its ``args`` are the command line).
    """
    argv = dbt_command(command, **options)
    result = subprocess.run(
        argv,
        env=dict(os.environ if env is None else env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise DbtError(argv, result)
    return result
