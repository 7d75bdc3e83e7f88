"""A connection's schema config as a client changes it: the runtime settings and their effect.

Fivetran keeps, per connection, which tables are enabled and which columns are hashed or
blocked; the service persists the same in its state file as
``{"schema_change_handling": ..., "tables": {table: {"enabled": bool,
"columns": {column: {"enabled": bool, "hashed": bool}}}}}``, holding only what a client set.

Catalog tables get these settings through the connection a sync runs with
(:func:`standins.fivetran.config.with_schema_config`), so extraction never reads an excluded
table. What extraction cannot know is applied to its result here: blocked columns are dropped
(the destination keeps an existing column, NULL for rows written afterwards, as Fivetran does),
and tables the source grew after the connection was created follow their settings too.
"""

from __future__ import annotations

from typing import Any

from standins.fivetran.batch import Extract
from standins.fivetran.config import ConnectorConfig

SCHEMA_CHANGE_HANDLING = ("ALLOW_ALL", "ALLOW_COLUMNS", "BLOCK_ALL")


def initial(conn: ConnectorConfig) -> dict[str, Any]:
    """A new connection's settings: Fivetran's defaults, nothing set by a client."""
    return {"schema_change_handling": conn.schema_change_handling, "tables": {}}


def set_table(
    settings: dict[str, Any],
    table: str,
    enabled: bool | None,
    columns: dict[str, dict[str, bool]],
) -> set[str]:
    """Record a table-level and column-level change; returns columns whose hashing changed."""
    entry = settings.setdefault("tables", {}).setdefault(table, {})
    if enabled is not None:
        entry["enabled"] = enabled
    rehashed: set[str] = set()
    stored = entry.setdefault("columns", {})
    for column, change in columns.items():
        current = stored.setdefault(column, {})
        if "hashed" in change and bool(current.get("hashed", False)) != change["hashed"]:
            rehashed.add(column)
        current.update(change)
    return rehashed


def apply_to_extract(
    extract: Extract, conn: ConnectorConfig, settings: dict[str, Any]
) -> dict[str, list[list[Any]]]:
    """Apply the settings extraction cannot; returns the source's columns as read.

    The returned columns (``[source, destination, hashed, primary key]`` per table) are what
    the schema config lists, blocked columns included, so a client can still unblock them.
    """
    seen: dict[str, list[list[Any]]] = {}
    tables: dict[str, Any] = settings.get("tables") or {}
    kept = []
    for batch in extract.tables:
        entry = tables.get(batch.source_name) or {}
        columns: dict[str, dict[str, Any]] = entry.get("columns") or {}
        if batch.source_name not in conn.tables:
            if entry.get("enabled") is False:
                continue
            for column in batch.columns:
                column.hashed = bool(columns.get(column.source, {}).get("hashed", column.hashed))
        seen[batch.source_name] = [
            [c.source, c.dest, c.hashed, c.source in batch.primary_key] for c in batch.columns
        ]
        blocked = {name for name, s in columns.items() if s.get("enabled") is False}
        batch.columns = [c for c in batch.columns if c.source not in blocked]
        kept.append(batch)
    extract.tables = kept
    return seen
