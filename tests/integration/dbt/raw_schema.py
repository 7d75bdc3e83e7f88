"""The raw landing's shape: every table the local Fivetran lands, its columns and types, and
how to write hand-made rows of them into a warehouse (DuckDB or Snowflake SQL).

The shape comes from the source catalog and the connectors' configuration, the same facts the
sync reads, so a fixture can never land a table or column the real sync would not
(docs/CONTRACTS.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from standins.sources import catalog

from analytics_platform.ingest.connectors.desired import load_desired

Row = dict[str, Any]
Tables = dict[tuple[str, str], list[Row]]

TYPE_MAP = {
    "bigint": "BIGINT",
    "integer": "INTEGER",
    "text": "VARCHAR",
    "boolean": "BOOLEAN",
    "timestamptz": "TIMESTAMP",
    "date": "DATE",
    "time": "TIME",
    "double precision": "DOUBLE",
}

METADATA_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "connection": [
        ("connection_id", "VARCHAR"),
        ("connection_name", "VARCHAR"),
        ("connector_type", "VARCHAR"),
        ("destination_schema", "VARCHAR"),
        ("sync_frequency", "INTEGER"),
        ("schedule_type", "VARCHAR"),
        ("paused", "BOOLEAN"),
        ("created_at", "TIMESTAMP"),
    ],
    "log": [
        ("id", "VARCHAR"),
        ("connection_id", "VARCHAR"),
        ("time_stamp", "TIMESTAMP"),
        ("event", "VARCHAR"),
        ("message_event", "VARCHAR"),
        ("message_data", "VARCHAR"),
    ],
    "incremental_mar": [
        ("connection_id", "VARCHAR"),
        ("schema_name", "VARCHAR"),
        ("table_name", "VARCHAR"),
        ("measured_date", "DATE"),
        ("free_type", "VARCHAR"),
        ("incremental_rows", "BIGINT"),
        ("updated_at", "TIMESTAMP"),
    ],
}

TENANTS = ("bu_north", "bu_south")


def disabled_tables() -> set[tuple[str, str]]:
    """(system, source table) pairs the sync never lands (``enabled: false`` in fivetran.yaml)."""
    desired = load_desired()
    disabled = set()
    for system in catalog.SYSTEMS:
        schema = catalog.landing_schema(
            system.name, TENANTS[0] if system.name == "jobs_db" else None
        )
        for table in system.tables:
            spec = desired.table(schema, table.name)
            if spec is not None and not spec.enabled:
                disabled.add((system.name, table.name))
    return disabled


def warehouse_type(pg_type: str) -> str:
    """The landed type of a PostgreSQL type (docs/CONTRACTS.md)."""
    if pg_type.startswith("numeric"):
        return pg_type.replace("numeric", "DECIMAL")
    if pg_type.startswith("varchar"):
        return "VARCHAR"
    return TYPE_MAP[pg_type]


def _source_table(schema: str, table: str) -> catalog.Table:
    for system in catalog.SYSTEMS:
        if system.name == "jobs_db":
            matches = schema.startswith(catalog.landing_schema("jobs_db", ""))
        else:
            matches = schema == catalog.landing_schema(system.name)
        for source_table in system.tables if matches else ():
            if catalog.destination_name(source_table.name) == table:
                return source_table
    raise KeyError((schema, table))


def table_columns(schema: str, table: str) -> list[tuple[str, str]]:
    """Landed (name, type) columns of a raw table, Fivetran columns included."""
    if schema == "fivetran_metadata":
        return METADATA_COLUMNS[table]
    source_table = _source_table(schema, table)
    columns = [
        (catalog.destination_name(c.name), warehouse_type(c.type)) for c in source_table.columns
    ]
    if source_table.sync_mode == "append":
        columns.append(("_fivetran_id", "VARCHAR"))
    if source_table.sync_mode == "full_replace":
        columns.insert(0, ("_row", "INTEGER"))
    return [*columns, ("_fivetran_synced", "TIMESTAMP"), ("_fivetran_deleted", "BOOLEAN")]


def all_tables(tenants: Iterable[str] = TENANTS) -> list[tuple[str, str]]:
    """Every raw (schema, table) the sync lands."""
    tables = []
    disabled = disabled_tables()
    for system in catalog.SYSTEMS:
        for table in system.tables:
            if (system.name, table.name) in disabled:
                continue
            name = catalog.destination_name(table.name)
            if system.name == "jobs_db":
                tables += [(catalog.landing_schema("jobs_db", t), name) for t in tenants]
            else:
                tables.append((catalog.landing_schema(system.name), name))
    return tables + [("fivetran_metadata", t) for t in METADATA_COLUMNS]


def sql_literal(value: Any) -> str:
    """A SQL literal both DuckDB and Snowflake read the same way."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"cast('{value.isoformat(sep=' ')}' as timestamp)"
    if isinstance(value, dt.date):
        return f"cast('{value.isoformat()}' as date)"
    if isinstance(value, dt.time):
        return f"cast('{value.isoformat()}' as time)"
    return "'" + str(value).replace("'", "''") + "'"


def load_statements(tables: Tables, snowflake: bool = False) -> list[str]:
    """DDL + inserts that (re)create every raw table of ``tables`` (others left as they are).

    Table names are quoted, upper case on Snowflake (what an unquoted name resolves to there).
    """
    statements = [
        f"create schema if not exists {schema}" for schema in sorted({s for s, _ in tables})
    ]
    for (schema, table), rows in sorted(tables.items()):
        columns = table_columns(schema, table)
        name = f'{schema}."{table.upper() if snowflake else table}"'
        column_sql = ", ".join(f"{c} {t}" for c, t in columns)
        statements.append(f"create or replace table {name} ({column_sql})")
        if rows:
            values = ",\n".join(
                "(" + ", ".join(sql_literal(row.get(c)) for c, _ in columns) + ")" for row in rows
            )
            statements.append(f"insert into {name} values\n{values}")
    return statements


def load_duckdb(path: str, tables: Tables) -> None:
    """Write ``tables`` into the DuckDB warehouse at ``path`` (its catalog = the file stem)."""
    import duckdb

    with duckdb.connect(path) as conn:
        for statement in load_statements(tables):
            conn.execute(statement)
