"""Bulk loading with PostgreSQL COPY: Arrow tables are rendered to CSV in C++ and streamed.

Arrow's CSV writer already speaks PostgreSQL's CSV dialect: empty unquoted fields are NULL,
quoted ones are empty strings, timestamps end in ``Z`` and booleans read ``true``/``false``.
"""

from __future__ import annotations

import io

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

SLICE_ROWS = 100_000
_WRITE_OPTIONS = pacsv.WriteOptions(include_header=False, batch_size=SLICE_ROWS)


def connect(dsn: str, autocommit: bool = False) -> psycopg.Connection:
    """A connection whose session time zone is UTC, so timestamps read back the same everywhere."""
    return psycopg.connect(
        dsn, autocommit=autocommit, options="-c TimeZone=UTC -c DateStyle=ISO,YMD"
    )


def _naive_utc(table: pa.Table) -> pa.Table:
    """Drop the UTC zone from timestamp columns before rendering CSV.

    Arrow formats zoned timestamps about 8x slower, and the session time zone (UTC, see
    :func:`connect`) reads the naive values back as the same instants.
    """
    columns = [
        col.cast(pa.timestamp(col.type.unit))
        if pa.types.is_timestamp(col.type) and col.type.tz
        else col
        for col in table.columns
    ]
    return pa.table(columns, names=table.column_names)


def copy_table(conn: psycopg.Connection, qualified_name: str, table: pa.Table) -> int:
    """COPY ``table`` into ``qualified_name`` (columns by name) in memory-bounded slices.

    The connection must come from :func:`connect` (session time zone UTC).

    Returns:
        The number of rows loaded.
    """
    table = _naive_utc(table)
    cols = ", ".join(f'"{c}"' for c in table.column_names)
    with (
        conn.cursor() as cur,
        cur.copy(f"copy {qualified_name} ({cols}) from stdin with (format csv)") as copy,
    ):
        for offset in range(0, table.num_rows, SLICE_ROWS):
            buffer = io.BytesIO()
            pacsv.write_csv(table.slice(offset, SLICE_ROWS), buffer, _WRITE_OPTIONS)
            copy.write(buffer.getbuffer())
    return table.num_rows
