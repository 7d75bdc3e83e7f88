"""Session fixtures: a raw DuckDB warehouse from ``raw_fixture`` and dbt runs against it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest
from standins.net import free_port

from analytics_platform.transform.invocation import run_dbt
from analytics_platform.transform.partitions import BUILD_STAMP_COLUMNS

from . import raw_fixture

REPO = Path(__file__).resolve().parents[3]
PROJECT_DIR = REPO / "dbt_fieldforce"
FACT_MODELS = ("fct_jobs", "fct_revenue", "int_technician_daily_metrics")
FACT_RELATIONS = (
    "core.fct_jobs",
    "finance.fct_revenue",
    "int_operations.int_technician_daily_metrics",
)
# the other row-level incrementals (no partition windows of their own in Dagster)
ROW_LEVEL_MODELS = (
    "int_jobs_enriched",
    "int_revenue_daily",
    "int_revenue_by_service",
    "rpt_operations_daily",
    "dim_customers",
)
ROW_LEVEL_RELATIONS = (
    "int_operations.int_jobs_enriched",
    "int_finance.int_revenue_daily",
    "int_finance.int_revenue_by_service",
    "operations.rpt_operations_daily",
    "core.dim_customers",
)
# bookkeeping, not business columns: when a row was written, and the days a changed job left
BOOKKEEPING_COLUMNS = (*BUILD_STAMP_COLUMNS, "_replaced_scheduled_at", "_replaced_completed_at")


@dataclass
class DbtProject:
    """One dbt project checkout run against one warehouse, with its own target/ and logs/."""

    workdir: Path
    env: dict[str, str]
    runs: list[list[str]] = field(default_factory=list)

    def run(
        self, command: str, *extra: str, check: bool = True, **options: Any
    ) -> subprocess.CompletedProcess[str]:
        """``dbt <command> <extra>`` on this checkout's target/ and logs/ (``dbt_args`` options)."""
        result = run_dbt(
            command,
            project_dir=PROJECT_DIR,
            target_path=self.workdir / "target",
            log_path=self.workdir / "logs",
            extra=extra,
            env=self.env,
            timeout=600,
            check=False,
            **options,
        )
        self.runs.append(list(result.args))
        if check and result.returncode != 0:
            raise AssertionError(
                f"dbt {command} {' '.join(extra)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
            )
        return result


def dbt_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DBT_", "SNOWFLAKE_", "FIELDFORCE_"))
    }
    env.update({"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_THREADS": "2"}, **extra)
    return env


def query(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def mart_results(path: Path) -> dict[str, dict[tuple, Any]]:
    """The marts' figures in the DuckDB warehouse at ``path`` (see ``marts_from``)."""
    return marts_from(lambda sql: query(path, sql))


def marts_from(rows: Callable[[str], list[tuple]]) -> dict[str, dict[tuple, Any]]:
    """The marts' figures, keyed like ``raw_fixture.ground_truth``, read through ``rows``."""
    return {
        "revenue_cents": {
            (day, region): int(cents)
            for day, region, cents in rows(
                "select revenue_date, region_id, sum(revenue_cents) from finance.fct_revenue group by 1, 2",
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
                "select report_date, active_technicians from operations.rpt_operations_daily where active_technicians > 0",
            )
        },
    }


@pytest.fixture(scope="module")
def fakesnow_port() -> Iterator[int]:
    """A local fakesnow server (standins.snowflake.fakesnow_server) for this module."""
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


def fakesnow_connection(port: int, database: str) -> Any:
    """A Snowflake connector connection to the fakesnow server on ``port``."""
    import snowflake.connector

    return snowflake.connector.connect(
        account="fakesnow",
        user="fake",
        password="snow",
        host="127.0.0.1",
        port=port,
        protocol="http",
        database=database,
        schema="PUBLIC",
    )


def load_fakesnow(port: int, tables: raw_fixture.Tables, database: str) -> None:
    """(Re)create the raw tables of ``tables`` in ``database`` on the fakesnow server."""
    with fakesnow_connection(port, database) as conn:
        cursor = conn.cursor()
        for statement in raw_fixture.load_statements(tables, snowflake=True):
            cursor.execute(statement)


def fact_checksums(
    path: Path, relations: tuple[str, ...] = FACT_RELATIONS
) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent digest of each incremental's business columns."""
    checksums = {}
    excluded = ", ".join(f"'{name}'" for name in BOOKKEEPING_COLUMNS)
    for relation in relations:
        schema, model = relation.split(".")
        columns = [
            name
            for (name,) in query(
                path,
                f"select column_name from information_schema.columns where table_schema = '{schema}' "
                f"and table_name = '{model}' and column_name not in ({excluded}) order by ordinal_position",
            )
        ]
        count, digest = query(
            path,
            f"select count(*), coalesce(sum(hash({', '.join(columns)})), 0)::varchar from {schema}.{model}",
        )[0]
        checksums[relation] = (count, digest)
    return checksums


@pytest.fixture(scope="session")
def duckdb_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DbtProject, Path]]:
    workdir = tmp_path_factory.mktemp("dbt_duckdb")
    warehouse = workdir / "warehouse.duckdb"
    raw_fixture.load_duckdb(str(warehouse), raw_fixture.initial_rows())
    project = DbtProject(
        workdir, dbt_env(FIELDFORCE_WAREHOUSE_PATH=str(warehouse), DBT_TARGET="local")
    )
    yield project, warehouse


@pytest.fixture(scope="session")
def initial_build(duckdb_project: tuple[DbtProject, Path]) -> dict[str, Any]:
    """`dbt build` of the first sync; the marts' figures right after it."""
    project, warehouse = duckdb_project
    result = project.run("build")
    return {"marts": mart_results(warehouse), "stdout": result.stdout, "warehouse": warehouse}
