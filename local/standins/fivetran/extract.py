"""Reading a PostgreSQL connector's changes from its source, without touching the warehouse.

PostgreSQL sources (Jobs DB tenants and the SaaS schemas) are read in one REPEATABLE READ
snapshot per sync, so every table of a sync sees the same instant. Rows stream out with
`COPY (SELECT ...) TO STDOUT (FORMAT csv)` and are parsed by Arrow's CSV reader straight into
typed columns: no per-row Python objects, which is what keeps an initial sync fast.

The Jobs DB connectors read in commit order, as Fivetran's PostgreSQL connector does: their
cursor is the previous sync's snapshot, not a column of the rows (:mod:`.commitorder`), because a
row's own `updated_at` is whatever its writer put there. One row stamped months ahead would move
a timestamp cursor months ahead and every later change would be skipped while syncs reported
success; a transaction committing after a later one would land behind the cursor. Hard deletes
come from the source's delete log (`cdc.deleted_rows`), read by the same snapshot window.

The SaaS connectors keep their systems' modified timestamps (an API has no commit order to
offer): that cursor is inclusive (`cursor >= last seen value`), so a row committed later with
the same timestamp as the last synced one is not lost. Rows read twice, by either cursor, are
dropped at load time because their cursor value did not change.

The file-based connectors' readers live in :mod:`.files`, the batch types in :mod:`.batch`;
both are re-exported here, the one module the service reads sources through.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg import sql

from standins.fivetran import commitorder, typemap
from standins.fivetran.batch import Column, Extract, SyncError, TableBatch
from standins.fivetran.config import ConnectorConfig
from standins.fivetran.files import extract_sheets, extract_telematics
from standins.sources import catalog

__all__ = [
    "Column",
    "Extract",
    "SyncError",
    "TableBatch",
    "extract_postgres",
    "extract_sheets",
    "extract_telematics",
]


def extract_postgres(
    dsn: str,
    connector: ConnectorConfig,
    states: dict[str, dict[str, Any]],
    full_tables: set[str] | None,
) -> Extract:
    """Read the changed rows of every in-scope table of a PostgreSQL-backed connector.

    Args:
        dsn: the source database.
        connector: the connector (its system's schema is read).
        states: per destination table, the cursor state of the last successful sync.
        full_tables: destination tables to re-read from scratch (a resync); None means all
            tables without a cursor state.
    """
    system = connector.catalog_system
    schema = system.schema
    with psycopg.connect(dsn, autocommit=False) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        conn.execute("SET TIME ZONE 'UTC'")
        # The first read fixes the transaction's snapshot: the one the commit-order cursor keeps.
        snapshot = commitorder.current(conn) if system.storage == "postgres_tenant" else None
        source_tables = _describe(conn, schema)
        has_cdc = _has_delete_log(conn)
        out = Extract(tables=[])
        for name, cfg in connector.tables.items():
            if cfg.enabled and name not in source_tables:
                out.notes.append(
                    (
                        "WARNING",
                        "table_removed",
                        {"table": catalog.destination_name(name), "message": "source table gone"},
                    )
                )
        for name, (cols, pk) in sorted(source_tables.items()):
            cfg = connector.table_config(name)
            if cfg is not None and not cfg.enabled:
                continue
            if cfg is None and connector.schema_change_handling != "ALLOW_ALL":
                continue
            known = system.table(name) if cfg is not None else None
            primary_key = list(known.primary_key) if known else pk
            if not primary_key:
                out.notes.append(
                    ("WARNING", "table_skipped", {"table": name, "message": "no primary key"})
                )
                continue
            col_names = [c for c, _ in cols]
            cursor_col = (
                known.cursor if known else ("updated_at" if "updated_at" in col_names else None)
            )
            hashed = set(cfg.hashed) if cfg else set()
            columns = [
                Column(
                    source=c,
                    dest=catalog.destination_name(c),
                    source_type=t,
                    dest_type=typemap.destination_type(t),
                    hashed=c in hashed,
                )
                for c, t in cols
            ]
            dest_name = catalog.destination_name(name)
            state = states.get(dest_name, {})
            full = (full_tables is not None and dest_name in full_tables) or not state
            if snapshot is not None:
                # A state without a snapshot (a timestamp cursor) is read once from scratch;
                # a table without a cursor column (and so, maybe, no delete capture) always is,
                # so that its hard deletes are found by the complete read.
                full = full or commitorder.SNAPSHOT_KEY not in state or cursor_col is None
                rows, deleted, new_state = _read_commit_order(
                    conn, schema, name, columns, primary_key, state, snapshot, full, has_cdc
                )
            else:
                deleted = None
                last = None if full else state.get("cursor")
                rows = _copy_rows(conn, schema, name, columns, _since(cursor_col, last))
                new_state = dict(state) if not full else {}
                if cursor_col and rows.num_rows:
                    rows, new_state["cursor"], new_state["boundary_keys"] = _past_boundary(
                        rows, cursor_col, primary_key, last, state.get("boundary_keys", [])
                    )
                elif cursor_col and last is not None:
                    new_state["cursor"] = last
                new_state["initialized"] = True
                full = full or cursor_col is None
            out.tables.append(
                TableBatch(
                    source_name=name,
                    dest_name=dest_name,
                    mode="upsert",
                    columns=columns,
                    primary_key=primary_key,
                    cursor_column=cursor_col,
                    rows=rows,
                    deleted_keys=deleted,
                    full=full,
                    new_state=new_state,
                )
            )
        conn.rollback()
    return out


def _read_commit_order(
    conn: psycopg.Connection,
    schema: str,
    table: str,
    columns: list[Column],
    primary_key: list[str],
    state: dict[str, Any],
    snapshot: commitorder.Snapshot,
    full: bool,
    has_cdc: bool,
) -> tuple[pa.Table, pa.Table | None, dict[str, Any]]:
    """Rows and deleted keys written since the previous sync's snapshot; the next state.

    The state is the snapshot alone (the load adds its own keys): a timestamp cursor left by
    an older state goes with that table's re-read.
    """
    previous = None if full else commitorder.Snapshot.parse(state[commitorder.SNAPSHOT_KEY])
    since = None if previous is None else commitorder.written_since(previous, snapshot)
    rows = _copy_rows(conn, schema, table, columns, since)
    deleted = None
    if has_cdc and previous is not None:
        deleted = _deleted_keys(
            conn,
            schema,
            table,
            columns,
            primary_key,
            commitorder.written_since(previous, snapshot, alias="d"),
        )
    return rows, deleted, {commitorder.SNAPSHOT_KEY: snapshot.text, "initialized": True}


def _since(cursor_col: str | None, last: str | None) -> sql.Composable | None:
    """The timestamp cursor's condition (inclusive), or None for a complete read."""
    if not cursor_col or last is None:
        return None
    return sql.SQL("{cur} >= {last}").format(cur=sql.Identifier(cursor_col), last=sql.Literal(last))


def _past_boundary(
    rows: pa.Table,
    cursor_col: str,
    primary_key: list[str],
    last: str | None,
    boundary_keys: list[str],
) -> tuple[pa.Table, str, list[str]]:
    """Drop rows already synced at the inclusive cursor boundary; return the next state.

    The cursor is inclusive (``>= last``) so that rows sharing the boundary value are never
    skipped; the keys of the rows already synced *at* that value are remembered, so an unchanged
    boundary row is not landed again on every sync (which would count as MAR and wake up every
    downstream model for nothing).

    Only the rows at the two boundaries become Python values: the read is ``>= last``, so the
    rows at ``last`` are the ones at the column's minimum, and the next boundary is its maximum.
    A historical sync of ten million invoices turned every row into strings and took gigabytes.
    """
    column = rows.column(cursor_col)
    bounds = pc.min_max(column)
    if not bounds["max"].is_valid:
        raise ValueError(f"cursor column {cursor_col} holds no value")
    top = _cursor_text(bounds["max"].as_py())
    at_top = _keys(rows.filter(pc.equal(column, bounds["max"])), primary_key)
    next_keys = sorted(set(at_top) | (set(boundary_keys) if top == last else set()))
    if last is None or not boundary_keys or _cursor_text(bounds["min"].as_py()) != last:
        return rows, top, next_keys
    at_last = pc.indices_nonzero(pc.fill_null(pc.equal(column, bounds["min"]), False))
    seen = set(boundary_keys)
    keep = np.ones(rows.num_rows, dtype=bool)
    for index, key in zip(at_last.to_pylist(), _keys(rows.take(at_last), primary_key), strict=True):
        keep[index] = key not in seen
    return rows.filter(pa.array(keep)), top, next_keys


def _keys(rows: pa.Table, primary_key: list[str]) -> list[str]:
    """Each row's primary key as the JSON text the connector state stores."""
    return [
        json.dumps(list(values), default=str)
        for values in zip(*(rows.column(k).to_pylist() for k in primary_key), strict=True)
    ]


def _cursor_text(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ")
    return str(value)


def _describe(
    conn: psycopg.Connection, schema: str
) -> dict[str, tuple[list[tuple[str, str]], list[str]]]:
    """Tables of a schema: their columns (name, type) in order, and primary key columns."""
    cols: dict[str, list[tuple[str, str]]] = {}
    for rel, att, typ in conn.execute(
        """
        select c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid
        where n.nspname = %s and c.relkind in ('r', 'p') and a.attnum > 0
          and not a.attisdropped
        order by c.relname, a.attnum
        """,
        (schema,),
    ):
        cols.setdefault(rel, []).append((att, typ))
    pks: dict[str, list[str]] = {}
    for rel, att in conn.execute(
        """
        select c.relname, a.attname
        from pg_index i
        join pg_class c on c.oid = i.indrelid
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attnum = any(i.indkey)
        where i.indisprimary and n.nspname = %s
        order by c.relname, array_position(i.indkey::int2[], a.attnum)
        """,
        (schema,),
    ):
        pks.setdefault(rel, []).append(att)
    return {rel: (c, pks.get(rel, [])) for rel, c in cols.items()}


def _has_delete_log(conn: psycopg.Connection) -> bool:
    row = conn.execute("select to_regclass('cdc.deleted_rows') is not null").fetchone()
    return bool(row and row[0])


def _select_list(columns: list[Column]) -> sql.Composable:
    parts = []
    for col in columns:
        ident = sql.Identifier(col.source)
        if typemap.is_timestamptz(col.source_type):
            parts.append(sql.SQL("({} at time zone 'UTC')").format(ident))
        else:
            parts.append(ident)
    return sql.SQL(", ").join(parts)


def _read_csv(data: bytes, columns: list[Column]) -> pa.Table:
    names = [c.source for c in columns]
    types = {c.source: typemap.arrow_type(c.dest_type) for c in columns}
    if not data:
        return pa.table({n: pa.array([], type=types[n]) for n in names})
    return pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(column_names=names, block_size=16 << 20),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            true_values=["t"],
            false_values=["f"],
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )


def _copy_rows(
    conn: psycopg.Connection,
    schema: str,
    table: str,
    columns: list[Column],
    where: sql.Composable | None,
) -> pa.Table:
    query = sql.SQL("select {cols} from {schema}.{table}").format(
        cols=_select_list(columns), schema=sql.Identifier(schema), table=sql.Identifier(table)
    )
    if where is not None:
        query = sql.SQL("{q} where {w}").format(q=query, w=where)
    buf = io.BytesIO()
    with (
        conn.cursor() as cur,
        cur.copy(sql.SQL("copy ({q}) to stdout (format csv)").format(q=query)) as copy,
    ):
        for chunk in copy:
            buf.write(chunk)
    return _read_csv(buf.getvalue(), columns)


def _deleted_keys(
    conn: psycopg.Connection,
    schema: str,
    table: str,
    columns: list[Column],
    primary_key: list[str],
    since: sql.Composable,
) -> pa.Table | None:
    """Keys of delete-log rows (`d`) matching `since` that are still gone.

    A re-inserted key is not deleted: its new row version is read like any other.
    """
    pk_cols = [next(c for c in columns if c.source == k) for k in primary_key]
    key_exprs = []
    for col in pk_cols:
        text = sql.SQL(
            "coalesce(d.pk ->> {name}, case when jsonb_typeof(d.pk) <> 'object' then d.pk #>> '{{}}' end)"
        ).format(name=sql.Literal(col.source))
        key_exprs.append(sql.SQL("({t})::{typ}").format(t=text, typ=sql.SQL(col.source_type)))
    match = sql.SQL(" and ").join(
        sql.SQL("t.{c} = {e}").format(c=sql.Identifier(col.source), e=expr)
        for col, expr in zip(pk_cols, key_exprs, strict=True)
    )
    query = sql.SQL(
        "select {keys} from cdc.deleted_rows d where d.table_name = {name}"
        " and {since} and not exists (select 1 from {schema}.{table} t where {match})"
    ).format(
        keys=sql.SQL(", ").join(
            sql.SQL("{e} as {a}").format(e=e, a=sql.Identifier(c.source))
            for c, e in zip(pk_cols, key_exprs, strict=True)
        ),
        name=sql.Literal(table),
        since=since,
        schema=sql.Identifier(schema),
        table=sql.Identifier(table),
        match=match,
    )
    rows = conn.execute(query).fetchall()
    if not rows:
        return None
    arrays = {
        col.source: pa.array([r[i] for r in rows], type=typemap.arrow_type(col.dest_type))
        for i, col in enumerate(pk_cols)
    }
    return pa.table(arrays)
