"""Source type -> destination type, and which type changes a sync may absorb.

The mapping is the landing contract of docs/CONTRACTS.md. The widening rules follow the design's
drift table ("Column type change: attempt cast, fail if incompatible"): a change that stays in
one family and only widens (integer -> bigint -> decimal/double, varchar(n) -> text,
date -> timestamp) is applied to the destination column; a change across families
(number <-> text, timestamp -> number, boolean <-> anything) fails the sync with a message that
names the connector, table, column and both types.
"""

from __future__ import annotations

import re

import pyarrow as pa

_NUMERIC = re.compile(r"^(?:numeric|decimal)\s*\((\d+)\s*,\s*(\d+)\)$")

_BASE = {
    "bigint": "BIGINT",
    "int8": "BIGINT",
    "integer": "INTEGER",
    "int": "INTEGER",
    "int4": "INTEGER",
    "smallint": "INTEGER",
    "int2": "INTEGER",
    "text": "VARCHAR",
    "varchar": "VARCHAR",
    "character varying": "VARCHAR",
    "char": "VARCHAR",
    "character": "VARCHAR",
    "boolean": "BOOLEAN",
    "bool": "BOOLEAN",
    "timestamptz": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMP",
    "timestamp": "TIMESTAMP",
    "timestamp without time zone": "TIMESTAMP",
    "date": "DATE",
    "time": "TIME",
    "time without time zone": "TIME",
    "double precision": "DOUBLE",
    "float8": "DOUBLE",
    "real": "DOUBLE",
    "float4": "DOUBLE",
    "numeric": "DECIMAL(38,9)",
    "jsonb": "VARCHAR",
    "json": "VARCHAR",
    "uuid": "VARCHAR",
}


def destination_type(source_type: str) -> str:
    """DuckDB type for a PostgreSQL type name (catalog spelling or `format_type` output)."""
    name = source_type.strip().lower()
    match = _NUMERIC.match(name)
    if match:
        return f"DECIMAL({match.group(1)},{match.group(2)})"
    name = re.sub(r"\(\d+\)$", "", name).strip()
    if name in _BASE:
        return _BASE[name]
    raise ValueError(f"no destination type for source type {source_type!r}")


def is_timestamptz(source_type: str) -> bool:
    """Whether the source column carries a time zone (read it as UTC, land it naive)."""
    return source_type.strip().lower() in ("timestamptz", "timestamp with time zone")


def arrow_type(dest_type: str) -> pa.DataType:
    """Arrow type used when parsing the source's CSV stream into a batch."""
    match = re.match(r"^DECIMAL\((\d+),(\d+)\)$", dest_type)
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    return {
        "BIGINT": pa.int64(),
        "INTEGER": pa.int32(),
        "BOOLEAN": pa.bool_(),
        "TIMESTAMP": pa.timestamp("us"),
        "DATE": pa.date32(),
        "DOUBLE": pa.float64(),
    }.get(dest_type, pa.string())


def _family(dest_type: str) -> str:
    if dest_type in ("INTEGER", "BIGINT", "DOUBLE") or dest_type.startswith("DECIMAL"):
        return "number"
    if dest_type in ("DATE", "TIMESTAMP"):
        return "datetime"
    return dest_type


def _number_rank(dest_type: str) -> tuple[int, int, int]:
    """(kind, integer digits, scale): larger holds smaller within the number family."""
    if dest_type == "INTEGER":
        return (0, 10, 0)
    if dest_type == "BIGINT":
        return (0, 19, 0)
    if dest_type == "DOUBLE":
        return (2, 308, 300)
    match = re.match(r"^DECIMAL\((\d+),(\d+)\)$", dest_type)
    if not match:
        raise ValueError(dest_type)
    precision, scale = int(match.group(1)), int(match.group(2))
    return (1, precision - scale, scale)


def holds(existing: str, incoming: str) -> bool:
    """Whether a destination column of type `existing` can take `incoming` values losslessly."""
    existing, incoming = existing.upper(), incoming.upper()
    if existing == incoming:
        return True
    if _family(existing) != _family(incoming):
        return False
    if _family(existing) == "datetime":
        return existing == "TIMESTAMP"
    if _family(existing) == "number":
        old, new = _number_rank(existing), _number_rank(incoming)
        if old[0] == 2:
            return True
        if new[0] == 2:
            return False
        return old[1] >= new[1] and old[2] >= new[2]
    return False


def widened(existing: str, incoming: str) -> str | None:
    """The destination type that holds both, if the change is compatible, else None."""
    existing, incoming = existing.upper(), incoming.upper()
    if holds(existing, incoming):
        return existing
    if holds(incoming, existing):
        return incoming
    if _family(existing) == _family(incoming) == "number":
        old, new = _number_rank(existing), _number_rank(incoming)
        if 2 in (old[0], new[0]):
            return "DOUBLE"
        digits, scale = max(old[1], new[1]), max(old[2], new[2])
        if digits + scale <= 38:
            return f"DECIMAL({digits + scale},{scale})"
    return None
