"""What a landed warehouse must meet: Fivetran's semantics over the sources, and no clear PII.

The expectations read the sources directly (PostgreSQL) and the warehouse read-only, so a test
compares the two without trusting the service that moved the rows.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg import sql
from standins.fivetran.config import DEFAULT_CONNECTORS_YAML, SourceSettings, load_account
from standins.sources import catalog

from analytics_platform.ingest.connectors.desired import load_desired
from testkit.landing import Stack

SALT = yaml.safe_load(DEFAULT_CONNECTORS_YAML.read_text())["hash_salt"]


def hashed(value: Any) -> str | None:
    """A value as the service hashes a PII column (salted SHA-256); None stays None."""
    if value is None:
        return None
    return hashlib.sha256((SALT + str(value)).encode()).hexdigest()


def _norm(value: Any) -> Any:
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def source_rows(
    dsn: str, system: catalog.System, table: catalog.Table, hashed_cols: set[str]
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """PK -> expected destination values (hashes applied, timestamps naive UTC)."""
    cols = [c.name for c in table.columns]
    with psycopg.connect(dsn) as conn:
        conn.execute("set time zone 'UTC'")
        rows = conn.execute(
            sql.SQL("select {} from {}.{}").format(
                sql.SQL(", ").join(sql.Identifier(c) for c in cols),
                sql.Identifier(system.schema),
                sql.Identifier(table.name),
            )
        ).fetchall()
    out = {}
    pk_idx = [cols.index(k) for k in table.primary_key]
    for row in rows:
        values = tuple(hashed(v) if cols[i] in hashed_cols else _norm(v) for i, v in enumerate(row))
        out[tuple(row[i] for i in pk_idx)] = values
    return out


def dest_rows(
    stack: Stack, schema: str, table: catalog.Table
) -> tuple[dict[tuple[Any, ...], tuple[Any, ...]], set[tuple[Any, ...]]]:
    """(live PK -> values, deleted PKs) of a landed table."""
    cols = [catalog.destination_name(c.name) for c in table.columns]
    pks = [catalog.destination_name(k) for k in table.primary_key]
    quoted = ", ".join(f'"{c}"' for c in cols)
    rows = stack.warehouse_query(
        f'select {quoted}, _fivetran_deleted from "{schema}"."{catalog.destination_name(table.name)}"'
    )
    live, deleted = {}, set()
    pk_idx = [cols.index(k) for k in pks]
    for row in rows:
        key = tuple(row[i] for i in pk_idx)
        if row[-1]:
            deleted.add(key)
        else:
            assert key not in live, f"duplicate live key {key} in {schema}"
            live[key] = tuple(row[:-1])
    return live, deleted


def assert_all_landed(stack: Stack) -> None:
    """Every enabled PostgreSQL-backed table equals its source under Fivetran's semantics.

    Enabled and hashed as the desired state the stack applied (``fivetran.yaml``) says.
    """
    account = load_account(SourceSettings.from_mapping(stack.sources()))
    desired = load_desired(stack.options.desired_config)
    checked = 0
    for conn in account.connectors.values():
        system = conn.catalog_system
        if system.storage not in ("postgres_tenant", "postgres_saas"):
            continue
        dsn = stack.jobs_dsns[conn.tenant] if conn.tenant else stack.saas_dsn
        for name in conn.tables:
            table = system.table(name)
            cfg = desired.table(conn.schema, name)
            assert cfg is not None, f"{conn.schema}.{name} is not in fivetran.yaml"
            if not cfg.enabled:
                assert not stack.warehouse_query(
                    "select 1 from information_schema.tables where table_schema = ? and table_name = ?",
                    [conn.schema, catalog.destination_name(name)],
                ), f"excluded table {name} landed"
                continue
            expected = source_rows(dsn, system, table, set(cfg.hashed))
            live, deleted = dest_rows(stack, conn.schema, table)
            assert set(live) == set(expected), f"{conn.id}.{name}: keys differ"
            for key, values in expected.items():
                assert live[key] == values, f"{conn.id}.{name} {key}: {live[key]} != {values}"
            assert not deleted & set(expected), f"{conn.id}.{name}: live rows flagged deleted"
            checked += 1
    assert checked >= 13


def clear_pii_values(stack: Stack) -> set[str]:
    """Every clear PII value in the sources (emails, phones, addresses)."""
    values: set[str] = set()
    for system in (catalog.JOBS_DB, catalog.SALESFORCE):
        dsns = list(stack.jobs_dsns.values()) if system is catalog.JOBS_DB else [stack.saas_dsn]
        for dsn in dsns:
            for table in system.tables:
                for col in table.columns:
                    if not col.pii:
                        continue
                    with psycopg.connect(dsn) as conn:
                        values.update(
                            r[0]
                            for r in conn.execute(
                                sql.SQL("select {}::text from {}.{} where {} is not null").format(
                                    sql.Identifier(col.name),
                                    sql.Identifier(system.schema),
                                    sql.Identifier(table.name),
                                    sql.Identifier(col.name),
                                )
                            )
                        )
    return values


def warehouse_strings(stack: Stack) -> set[str]:
    """Every VARCHAR value anywhere in the warehouse."""
    found: set[str] = set()
    columns = stack.warehouse_query(
        "select table_schema, table_name, column_name from information_schema.columns"
        " where data_type = 'VARCHAR'"
    )
    for schema, table, column in columns:
        found.update(
            r[0]
            for r in stack.warehouse_query(
                f'select distinct "{column}" from "{schema}"."{table}" where "{column}" is not null'
            )
        )
    return found


def json_lines(path: Path) -> list[dict[str, Any]]:
    """The objects of a JSON-lines file (blank lines skipped)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
