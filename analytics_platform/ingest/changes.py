"""Which landed tables a sync actually changed, read from the destination itself.

Fivetran stamps ``_fivetran_synced`` on every row it writes, deletes included (they land as
``_fivetran_deleted = true``). So "did this sync change table T, and how much" is one query on
T, the same on DuckDB and Snowflake, with no dependency on the Platform Connector's logs (which
Fivetran delivers on their own, daily, schedule). Only changed tables are reported to Dagster,
so a sync that lands nothing rebuilds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Dialect = Literal["duckdb", "snowflake"]


@dataclass(frozen=True)
class TableChange:
    """What one sync wrote into one landed table."""

    schema: str
    table: str
    rows_written: int
    """Rows inserted or updated (deletes included: they are flagged rows)."""
    rows_deleted: int
    synced_through: datetime
    """The newest ``_fivetran_synced`` written: the next watermark for this table."""

    @property
    def asset_path(self) -> list[str]:
        """The asset key path of the landed table: ``fivetran/<schema>/<table>``."""
        return ["fivetran", self.schema, self.table]


def quote(identifier: str, dialect: Dialect) -> str:
    """Quote an identifier; Snowflake folds Fivetran's names to upper case."""
    name = identifier.upper() if dialect == "snowflake" else identifier
    return '"' + name.replace('"', '""') + '"'


def change_query(schema: str, table: str, since: datetime | None, dialect: Dialect) -> str:
    """The one query that measures a table's changes since a watermark (pure, testable)."""
    relation = f"{quote(schema, dialect)}.{quote(table, dialect)}"
    synced = quote("_fivetran_synced", dialect)
    deleted = quote("_fivetran_deleted", dialect)
    where = ""
    if since is not None:
        literal = since.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        where = f" where {synced} > cast('{literal}' as timestamp)"
    return (
        f"select count(*), coalesce(sum(case when {deleted} then 1 else 0 end), 0),"
        f" max({synced}) from {relation}{where}"
    )


def detect_changes(
    connection: Any,
    tables: Iterable[tuple[str, str]],
    watermarks: Mapping[tuple[str, str], datetime | None],
    dialect: Dialect = "duckdb",
) -> list[TableChange]:
    """Measure every table against its watermark; return only the tables that changed.

    Args:
        connection: a DB-API connection to the warehouse (DuckDB or Snowflake).
        tables: ``(schema, table)`` pairs of the connector's enabled tables.
        watermarks: the last ``_fivetran_synced`` already reported per table (None: never).
        dialect: how to quote identifiers.
    """
    changes = []
    for schema, table in tables:
        cursor = connection.cursor()
        try:
            cursor.execute(change_query(schema, table, watermarks.get((schema, table)), dialect))
            row = cursor.fetchone()
        except Exception as exc:
            # A table in scope that has not landed yet (first sync still running) has no
            # changes. Anything else (a missing column, a lost connection) must fail loudly:
            # skipping it would silently drop an update.
            if _table_missing(str(exc)):
                continue
            raise
        finally:
            cursor.close()
        written, deleted, through = (row or (0, 0, None))[:3]
        if written and through is not None:
            changes.append(TableChange(schema, table, int(written), int(deleted or 0), through))
    return changes


def _table_missing(message: str) -> bool:
    """Whether a warehouse error says the table is not there (DuckDB or Snowflake wording)."""
    lowered = message.lower()
    return "column" not in lowered and (
        "does not exist" in lowered or ("table" in lowered and "not found" in lowered)
    )


SYNCED_THROUGH = "fivetran/synced_through"
"""Materialization metadata: the newest ``_fivetran_synced`` reported, the table's watermark."""


def materialization(
    change: TableChange, connector_id: str, sync_completed_at: str | None = None
) -> dict[str, Any]:
    """The metadata reported with a changed table's materialization (JSON-safe values)."""
    metadata: dict[str, Any] = {
        "fivetran/connector_id": connector_id,
        "fivetran/rows_written": change.rows_written,
        "fivetran/rows_deleted": change.rows_deleted,
        SYNCED_THROUGH: change.synced_through.isoformat(),
        "dagster/row_count_delta": change.rows_written,
    }
    if sync_completed_at:
        metadata["fivetran/sync_completed_at"] = sync_completed_at
    return metadata
