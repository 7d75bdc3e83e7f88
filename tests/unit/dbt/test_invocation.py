"""``dbt_args``: the one place a dbt command line is spelled."""

from __future__ import annotations

import json
from pathlib import Path

from analytics_platform.transform.invocation import VENV_DBT, dbt_args, dbt_command


def test_command_words_come_first_then_locations_selection_and_extras() -> None:
    args = dbt_args(
        "docs generate",
        target="ci",
        project_dir=Path("/p"),
        target_path=Path("/t"),
        log_path=Path("/l"),
        select=["a+", "b"],
        exclude=["resource_type:test"],
        vars={"min_date": "2024-01-01"},
        full_refresh=True,
        quiet=True,
        extra=["--defer"],
    )
    assert args == [
        "docs",
        "generate",
        "--quiet",
        "--project-dir",
        "/p",
        "--profiles-dir",
        "/p",
        "--target",
        "ci",
        "--target-path",
        "/t",
        "--log-path",
        "/l",
        "--select",
        "a+",
        "b",
        "--exclude",
        "resource_type:test",
        "--vars",
        json.dumps({"min_date": "2024-01-01"}),
        "--full-refresh",
        "--defer",
    ]


def test_nothing_given_is_nothing_passed() -> None:
    assert dbt_args("build") == ["build"]
    assert dbt_args("parse", profiles_dir=Path("/profiles")) == [
        "parse",
        "--profiles-dir",
        "/profiles",
    ]


def test_the_command_line_starts_with_this_environments_dbt() -> None:
    assert dbt_command("build", select=["x"]) == [str(VENV_DBT), "build", "--select", "x"]
