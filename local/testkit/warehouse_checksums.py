"""Order-independent checksums of warehouse tables, to prove two builds made the same rows.

A backfill, a full refresh and an incremental history of the partitioned facts must agree row
for row. Comparing whole tables by value is slow and brittle; a row count plus the sum of a
hash of every row is cheap, ignores row order and physical layout, and changes when any value,
any row or any duplicate does. Columns that record *when* dbt wrote a row
(``_dbt_updated_at``, ``_changes_read_at``) differ between two correct builds, so they are left out by default.

Used by the backfill end-to-end test and ``benchmarks/backfill.py``; production never needs it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from analytics_platform.transform.partitions import BUILD_STAMP_COLUMNS

PARTITIONED_FACTS: Mapping[str, str] = {
    "core.fct_jobs": "scheduled_date",
    "finance.fct_revenue": "revenue_date",
    "int_operations.int_technician_daily_metrics": "work_date",
}
"""The daily-partitioned facts (warehouse relation -> the date column a partition is a day of)."""

VOLATILE_COLUMNS: frozenset[str] = frozenset(BUILD_STAMP_COLUMNS)
"""Columns stamped with the build's own time: equal data, different values between builds."""


@dataclass(frozen=True)
class Checksum:
    """Row count and order-independent digest of a set of rows."""

    rows: int
    digest: str


def quote(identifier: str) -> str:
    """A DuckDB identifier in double quotes (column names are data, not SQL)."""
    return '"' + identifier.replace('"', '""') + '"'


def checksum_sql(relation: str, columns: Sequence[str], where: str | None = None) -> str:
    """The query returning ``(rows, digest)`` of ``relation`` over ``columns``.

    Columns are hashed in sorted order, so two tables whose columns were added in a different
    order (``on_schema_change``) still compare by value. The digest is a ``hugeint`` sum of
    64-bit hashes, rendered as text: no overflow, and a duplicated row changes it.
    """
    if not columns:
        raise ValueError(f"no columns to checksum in {relation}")
    hashed = ", ".join(quote(name) for name in sorted(columns))
    sql = f"select count(*), coalesce(sum(hash({hashed})), 0)::varchar from {relation}"
    return f"{sql} where {where}" if where else sql


def window_predicate(date_column: str, first: date, last: date, inside: bool = True) -> str:
    """Rows whose ``date_column`` lies in ``[first, last]`` (or, ``inside=False``, every other row).

    Rows with a NULL date belong to no partition, so they count as outside every window.
    """
    if last < first:
        raise ValueError(f"empty window {first} .. {last}")
    within = (
        f"coalesce({quote(date_column)} between date '{first.isoformat()}'"
        f" and date '{last.isoformat()}', false)"
    )
    return within if inside else f"not {within}"


def connect_read_only(
    path: Path, timeout_s: float = 120.0, poll_s: float = 0.2
) -> duckdb.DuckDBPyConnection:
    """A read-only connection, retried while a writer (dbt, the sync service) holds the file."""
    retrying = Retrying(
        stop=stop_after_delay(timeout_s),
        wait=wait_fixed(poll_s),
        retry=retry_if_exception_type(duckdb.IOException),
        reraise=True,
    )
    return retrying(duckdb.connect, str(path), read_only=True)


def table_checksum(
    conn: duckdb.DuckDBPyConnection,
    relation: str,
    where: str | None = None,
    exclude: Collection[str] = VOLATILE_COLUMNS,
) -> Checksum:
    """Checksum of ``relation`` (``schema.table``), optionally of the rows matching ``where``."""
    schema, table = relation.split(".")
    columns = [
        name
        for (name,) in conn.execute(
            "select column_name from information_schema.columns"
            " where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
        if name not in exclude
    ]
    row = conn.execute(checksum_sql(relation, columns, where)).fetchone()
    if row is None:  # an aggregate always returns a row; this guards the type, not the data
        raise RuntimeError(f"no checksum row for {relation}")
    return Checksum(rows=int(row[0]), digest=str(row[1]))


def fact_checksums(
    path: Path,
    window: tuple[date, date] | None = None,
    inside: bool = True,
    relations: Mapping[str, str] = PARTITIONED_FACTS,
    exclude: Collection[str] = VOLATILE_COLUMNS,
) -> dict[str, Checksum]:
    """Checksums of the partitioned facts in the DuckDB file at ``path``.

    Args:
        path: the warehouse file (opened read-only, retried while locked).
        window: inclusive ``(first, last)`` days; ``None`` checksums whole tables.
        inside: with a window, the rows inside it (``True``) or every other row.
        relations: relation -> partition date column.
        exclude: columns left out of the digest.
    """
    conn = connect_read_only(path)
    try:
        return {
            relation: table_checksum(
                conn,
                relation,
                window_predicate(column, *window, inside=inside) if window else None,
                exclude,
            )
            for relation, column in relations.items()
        }
    finally:
        conn.close()
