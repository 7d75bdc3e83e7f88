"""Schema drift in a PostgreSQL source, made the way a source team makes it.

Not Fivetran: ``/admin/drift`` changes a source table (a column added, dropped or retyped, a
table added or dropped) so that the next sync meets the drift the design's table describes and
tests can prove how it lands and alerts. Each case reaches ``fivetran_metadata.log`` the way the
sync reports it: a ``schema_change`` event per column or new table, a ``table_removed`` note
while a table in the connector's scope is gone.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from standins.fivetran.config import ConnectorConfig, SourceSettings


def apply_drift(
    conn: ConnectorConfig, sources: SourceSettings, spec: dict[str, Any]
) -> dict[str, Any]:
    """Change a PostgreSQL source table the way a source team would (schema drift).

    `action`: `add_column` (column, type, default?), `drop_column` (column),
    `change_type` (column, type: the new type; `using` optional cast expression),
    `add_table` (table, columns "name type, ..." with a primary key and `updated_at`),
    `drop_table` (table; the foreign keys other tables hold on it go with it).
    """
    storage = conn.catalog_system.storage
    if storage == "postgres_tenant":
        dsn = sources.jobs_db_dsns[conn.tenant or ""]
    elif storage == "postgres_saas" and sources.saas_dsn:
        dsn = sources.saas_dsn
    else:
        raise ValueError(f"connector {conn.id} is not PostgreSQL-backed")
    schema = conn.catalog_system.schema
    action = spec.get("action")
    table = sql.Identifier(schema, str(spec.get("table")))
    if action == "add_column":
        stmt = sql.SQL("alter table {} add column {} {}").format(
            table, sql.Identifier(spec["column"]), sql.SQL(spec.get("type", "text"))
        )
        if spec.get("default") is not None:
            stmt = sql.SQL("{} default {}").format(stmt, sql.Literal(spec["default"]))
    elif action == "drop_column":
        stmt = sql.SQL("alter table {} drop column {}").format(
            table, sql.Identifier(spec["column"])
        )
    elif action == "change_type":
        using = spec.get("using")
        stmt = sql.SQL("alter table {} alter column {} type {}").format(
            table, sql.Identifier(spec["column"]), sql.SQL(spec["type"])
        )
        if using:
            stmt = sql.SQL("{} using {}").format(stmt, sql.SQL(using))
    elif action == "add_table":
        stmt = sql.SQL("create table {} ({})").format(table, sql.SQL(spec["columns"]))
    elif action == "drop_table":
        stmt = sql.SQL("drop table {} cascade").format(table)
    else:
        raise ValueError(f"unknown drift action {action!r}")
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute(stmt)
        if action == "change_type" or action == "add_column":
            # Touch the rows so the next incremental sync reads the changed column.
            cols = [
                r[0]
                for r in pg.execute(
                    "select column_name from information_schema.columns"
                    " where table_schema = %s and table_name = %s",
                    (schema, spec["table"]),
                )
            ]
            cursor = next(
                (c for c in ("updated_at", "SystemModstamp", "modified_on") if c in cols), None
            )
            if cursor and spec.get("touch", True):
                pg.execute(
                    sql.SQL("update {} set {} = now()").format(table, sql.Identifier(cursor))
                )
    return {"applied": stmt.as_string(None) if hasattr(stmt, "as_string") else str(stmt)}
