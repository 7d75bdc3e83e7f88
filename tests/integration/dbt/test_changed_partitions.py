"""A partitioned fact's automatic run reports the days its build changed; a backfill its range.

The dbt op of the code location runs in process over the small raw fixture (DuckDB), in a
process of its own (:mod:`.changed_partitions_runs`) whose partitions start in the fixture's
month.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from .changed_partitions_runs import BACKFILL, FACTS, READ_BY, SYNC_PARTITION
from .conftest import REPO, dbt_env

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("changed_partitions")
    env = dbt_env(
        FIELDFORCE_WAREHOUSE_PATH=str(workdir / "warehouse.duckdb"),
        DBT_TARGET="local",
        FIELDFORCE_FIRST_PARTITION_DATE="2025-01-01",
        DAGSTER_HOME=str(workdir),
    )
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.dbt.changed_partitions_runs", str(workdir)],
        cwd=REPO,
        env={
            **env,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        },
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-6000:]
    yield json.loads(done.stdout.strip().splitlines()[-1])


def _days_of_rows_written(before: list[list[str]], after: list[list[str]]) -> set[str]:
    """Days of the rows that are new or differ after the build (a row's day comes first)."""
    old = {tuple(row) for row in before}
    return {row[0] for row in after if tuple(row) not in old}


def _days_changed(before: list[list[str]], after: list[list[str]]) -> set[str]:
    """Days whose rows differ in any way (written, changed or removed)."""
    old, new = {tuple(r) for r in before}, {tuple(r) for r in after}
    return {row[0] for row in old ^ new}


def test_a_sync_run_of_a_row_level_fact_reports_exactly_the_days_of_the_rows_it_changed(
    runs: dict[str, Any],
) -> None:
    written = _days_of_rows_written(runs["before"]["fct_jobs"], runs["after"]["fct_jobs"])
    assert written, "the fixture's second sync changes jobs"
    assert runs["sync"]["fct_jobs"] == sorted(written)
    # ... and not the partition the run was launched for, where nothing changed.
    assert SYNC_PARTITION not in runs["sync"]["fct_jobs"]


def test_a_sync_run_of_a_daily_aggregate_reports_the_days_it_rebuilt(
    runs: dict[str, Any],
) -> None:
    for name in ("fct_revenue", "int_technician_daily_metrics"):
        reported = runs["sync"][name]
        held = {row[0] for row in runs["after"][name]}
        moved = _days_changed(runs["before"][name], runs["after"][name]) & held
        # Every day whose figures moved is reported, once; only days that hold rows are.
        assert moved, f"the fixture's second sync changes {name}"
        assert moved <= set(reported) <= held
        assert len(reported) == len(set(reported))
        assert SYNC_PARTITION not in reported


def test_a_fact_materializes_before_the_models_built_on_it(runs: dict[str, Any]) -> None:
    """Automation reads the order: a fact updated after its report would rebuild the report."""
    order = runs["sync_order"]
    for fact, readers in READ_BY.items():
        built = [order.index(reader) for reader in readers if reader in order]
        assert fact in order and built, (fact, order)
        last_of_fact = len(order) - 1 - order[::-1].index(fact)
        assert last_of_fact < min(built), (fact, order)


def test_the_first_build_reports_every_day_that_holds_rows(runs: dict[str, Any]) -> None:
    for name in FACTS:
        assert runs["first"][name] == sorted({row[0] for row in runs["before"][name]})


def test_a_backfill_reports_exactly_its_range(runs: dict[str, Any]) -> None:
    first, last = (date.fromisoformat(d) for d in BACKFILL)
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    assert runs["backfill"] == {name: days for name in FACTS}
