"""What an extract hands the load: one batch per table, and the sync's notes.

The readers (:mod:`.extract` for PostgreSQL, :mod:`.files` for GPS batches and Sheets) fill
these; :mod:`.load` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa


class SyncError(Exception):
    """A sync failed for a reason the connector's log should show verbatim."""


@dataclass
class Column:
    """One column as the source has it now, with its destination name and type."""

    source: str
    dest: str
    source_type: str
    dest_type: str
    hashed: bool = False


@dataclass
class TableBatch:
    """What one table contributes to a sync.

    `mode` is `upsert` (PK merge), `append` (GPS: every delivered row is new) or `replace`
    (Sheets: the file is the table). `full` marks a complete read of an upsert table, so
    destination keys absent from it were deleted at the source.
    """

    source_name: str
    dest_name: str
    mode: str
    columns: list[Column]
    primary_key: list[str] = field(default_factory=list)
    cursor_column: str | None = None
    rows: pa.Table | None = None
    deleted_keys: pa.Table | None = None
    full: bool = False
    files: list[Path] = field(default_factory=list)
    union_by_name: bool = False
    new_state: dict[str, Any] = field(default_factory=dict)

    def column(self, source: str) -> Column:
        """The column with source name `source`."""
        return next(c for c in self.columns if c.source == source)


@dataclass
class Extract:
    """Everything read for one sync, plus events to log (tables that vanished, ...)."""

    tables: list[TableBatch]
    notes: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
