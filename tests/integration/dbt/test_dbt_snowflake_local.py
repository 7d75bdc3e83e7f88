"""The Snowflake SQL path: the same project builds and passes its tests with dbt-snowflake
against a local fakesnow server (local/standins/snowflake/fakesnow_server.py), and its marts equal the
ground truth (and so the DuckDB run), before and after an incremental run."""

from __future__ import annotations

from typing import Any

import pytest

from . import raw_fixture
from .conftest import DbtProject, dbt_env, fakesnow_connection, load_fakesnow, marts_from

DATABASE = "ANALYTICS_MARTS"


def load(port: int, tables: raw_fixture.Tables) -> None:
    load_fakesnow(port, tables, DATABASE)


def marts(port: int) -> dict[str, dict[tuple, Any]]:
    with fakesnow_connection(port, DATABASE) as conn:
        cursor = conn.cursor()
        return marts_from(lambda sql: cursor.execute(sql).fetchall())


def test_snowflake_local_build_matches_ground_truth(
    fakesnow_port: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = DbtProject(
        tmp_path_factory.mktemp("dbt_snowflake_local"),
        dbt_env(
            DBT_TARGET="snowflake_local",
            FAKESNOW_PORT=str(fakesnow_port),
            SNOWFLAKE_DATABASE=DATABASE,
        ),
    )
    initial = raw_fixture.initial_rows()
    load(fakesnow_port, initial)
    first = project.run("build")
    assert "ERROR=0" in first.stdout and "SKIP=0" in first.stdout
    assert marts(fakesnow_port) == raw_fixture.ground_truth(initial)

    # second sync, incremental merge / replace_where / snapshot merge through the shims
    merged = raw_fixture.merge(initial, raw_fixture.changes())
    load(fakesnow_port, merged)
    # (data tests ran on the first build; this one proves the incremental SQL paths)
    second = project.run("build", exclude=["resource_type:test"])
    assert "ERROR=0" in second.stdout and "SKIP=0" in second.stdout
    assert marts(fakesnow_port) == raw_fixture.ground_truth(merged)
