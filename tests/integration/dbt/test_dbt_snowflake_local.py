"""The Snowflake SQL path: the same project builds and passes its tests with dbt-snowflake
against a local fakesnow server (local/standins/snowflake/fakesnow_server.py), and its marts equal the
ground truth (and so the DuckDB run), before and after an incremental run."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from standins.net import free_port

from . import raw_fixture
from .conftest import DbtProject, dbt_env

DATABASE = "ANALYTICS_MARTS"


@pytest.fixture(scope="module")
def fakesnow_port() -> Iterator[int]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "standins.snowflake.fakesnow_server", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"fakesnow server did not start: {server.stderr.read()!r}"
                    ) from None
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def connect(port: int) -> Any:
    import snowflake.connector

    return snowflake.connector.connect(
        account="fakesnow",
        user="fake",
        password="snow",
        host="127.0.0.1",
        port=port,
        protocol="http",
        database=DATABASE,
        schema="PUBLIC",
    )


def load(port: int, tables: raw_fixture.Tables) -> None:
    with connect(port) as conn:
        cursor = conn.cursor()
        for statement in raw_fixture.load_statements(tables, snowflake=True):
            cursor.execute(statement)


def marts(port: int) -> dict[str, dict[tuple, Any]]:
    with connect(port) as conn:
        cursor = conn.cursor()

        def rows(sql: str) -> list[tuple]:
            return cursor.execute(sql).fetchall()

        return {
            "revenue_cents": {
                (day, region): int(cents)
                for day, region, cents in rows(
                    "select revenue_date, region_id, sum(revenue_cents) from finance.fct_revenue group by 1, 2"
                )
            },
            "jobs_by_status": {
                (day, status): n
                for day, status, n in rows(
                    "select scheduled_date, job_status, count(*) from core.fct_jobs group by 1, 2"
                )
            },
            "active_technicians": {
                (day,): n
                for day, n in rows(
                    "select report_date, active_technicians from operations.rpt_operations_daily "
                    "where active_technicians > 0"
                )
            },
        }


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
