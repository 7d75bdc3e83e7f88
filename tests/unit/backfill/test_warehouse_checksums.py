"""Warehouse checksums: equal for the same rows in any order, different for any other rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from testkit.warehouse_checksums import (
    Checksum,
    checksum_sql,
    fact_checksums,
    table_checksum,
    window_predicate,
)

ROWS = [
    (1, date(2026, 2, 1), 100, "2026-11-23 10:00:00"),
    (2, date(2026, 2, 5), None, "2026-11-23 10:00:00"),
    (3, date(2026, 2, 11), 300, "2026-11-23 10:00:00"),
    (4, None, 400, "2026-11-23 10:00:00"),
]


def _table(conn: duckdb.DuckDBPyConnection, name: str, rows: list[tuple], columns: str) -> None:
    conn.execute("create schema if not exists core")
    conn.execute(f"create or replace table core.{name} ({columns})")
    conn.executemany(f"insert into core.{name} values (?, ?, ?, ?)", rows)


def _checksum(
    rows: list[tuple],
    where: str | None = None,
    columns: str = "job_id int, scheduled_date date, cents int, _dbt_updated_at timestamp",
) -> Checksum:
    with duckdb.connect() as conn:
        _table(conn, "fct_jobs", rows, columns)
        return table_checksum(conn, "core.fct_jobs", where)


def test_same_rows_in_another_order_give_the_same_checksum() -> None:
    assert _checksum(ROWS) == _checksum(list(reversed(ROWS)))
    assert _checksum(ROWS).rows == 4


def test_column_order_does_not_matter_but_values_do() -> None:
    swapped = [(cents, job_id, day, at) for job_id, day, cents, at in ROWS]
    assert _checksum(
        swapped, columns="cents int, job_id int, scheduled_date date, _dbt_updated_at timestamp"
    ) == _checksum(ROWS)
    changed = [*ROWS[:2], (3, date(2026, 2, 11), 301, ROWS[2][3]), ROWS[3]]
    assert _checksum(changed) != _checksum(ROWS)
    nulled = [*ROWS[:2], (3, date(2026, 2, 11), None, ROWS[2][3]), ROWS[3]]
    assert _checksum(nulled) != _checksum(ROWS)


def test_missing_or_duplicated_rows_change_it() -> None:
    assert _checksum(ROWS[:3]) != _checksum(ROWS)
    duplicated = _checksum([*ROWS, ROWS[0]])
    assert duplicated.rows == 5
    assert duplicated.digest != _checksum(ROWS).digest


def test_build_time_is_ignored_by_default() -> None:
    rebuilt = [(*row[:3], "2026-11-24 09:00:00") for row in ROWS]
    assert _checksum(rebuilt) == _checksum(ROWS)
    with duckdb.connect() as conn:
        _table(conn, "a", ROWS, "job_id int, d date, cents int, _dbt_updated_at timestamp")
        _table(conn, "b", rebuilt, "job_id int, d date, cents int, _dbt_updated_at timestamp")
        assert table_checksum(conn, "core.a", exclude=()) != table_checksum(
            conn, "core.b", exclude=()
        )


def test_window_splits_rows_into_inside_and_outside() -> None:
    first, last = date(2026, 2, 1), date(2026, 2, 10)
    inside = _checksum(ROWS, window_predicate("scheduled_date", first, last))
    outside = _checksum(ROWS, window_predicate("scheduled_date", first, last, inside=False))
    assert (inside.rows, outside.rows) == (2, 2)  # the NULL date is outside every window
    assert inside == _checksum(ROWS[:2])
    assert outside == _checksum(ROWS[2:])


def test_bad_inputs_fail_loudly() -> None:
    with pytest.raises(ValueError, match="empty window"):
        window_predicate("d", date(2026, 2, 2), date(2026, 2, 1))
    with pytest.raises(ValueError, match="no columns"):
        checksum_sql("core.t", [])
    assert checksum_sql("core.t", ["b", "a"]).startswith(
        'select count(*), coalesce(sum(hash("a", "b")), 0)::varchar from core.t'
    )


def test_fact_checksums_reads_a_warehouse_file(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        _table(conn, "fct_jobs", ROWS, "job_id int, d date, cents int, _dbt_updated_at timestamp")
    relations = {"core.fct_jobs": "d"}
    whole = fact_checksums(path, relations=relations)
    window = (date(2026, 2, 1), date(2026, 2, 10))
    inside = fact_checksums(path, window, relations=relations)
    outside = fact_checksums(path, window, inside=False, relations=relations)
    assert whole["core.fct_jobs"].rows == 4
    assert inside["core.fct_jobs"].rows + outside["core.fct_jobs"].rows == 4
    assert inside != outside
