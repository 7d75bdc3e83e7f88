"""Reading a connector's changes from its source, without touching the warehouse.

PostgreSQL sources (Jobs DB tenants and the SaaS schemas) are read in one REPEATABLE READ
snapshot per sync, so every table of a sync sees the same instant. Rows stream out with
`COPY (SELECT ...) TO STDOUT (FORMAT csv)` and are parsed by Arrow's CSV reader straight into
typed columns: no per-row Python objects, which is what keeps an initial sync fast.

The incremental cursor is inclusive (`cursor >= last seen value`): a row committed later with
the same timestamp as the last synced one is not lost, and the rows read twice are dropped at
load time because their cursor value did not change.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

from standins.fivetran import typemap
from standins.fivetran.config import ConnectorConfig
from standins.sources import catalog


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
            last = None if full else state.get("cursor")
            rows = _copy_rows(conn, schema, name, columns, cursor_col, last)
            new_state = dict(state) if not full else {}
            if cursor_col and rows.num_rows:
                rows, new_state["cursor"], new_state["boundary_keys"] = _past_boundary(
                    rows, cursor_col, primary_key, last, state.get("boundary_keys", [])
                )
            elif cursor_col and last is not None:
                new_state["cursor"] = last
            deleted = None
            if has_cdc and not full:
                deleted, del_cursor = _deleted_keys(
                    conn, schema, name, columns, primary_key, state.get("delete_cursor")
                )
                if del_cursor is not None:
                    new_state["delete_cursor"] = del_cursor
            elif has_cdc:
                new_state["delete_cursor"] = _max_delete_time(conn, name)
            new_state["initialized"] = True
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
                    full=full or cursor_col is None,
                    new_state=new_state,
                )
            )
        conn.rollback()
    return out


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
    """
    cursor_text = [
        _cursor_text(v) if v is not None else None for v in rows.column(cursor_col).to_pylist()
    ]
    keys = [
        json.dumps(list(values), default=str)
        for values in zip(*(rows.column(k).to_pylist() for k in primary_key), strict=True)
    ]
    top = max(c for c in cursor_text if c is not None)
    at_top = [k for k, c in zip(keys, cursor_text, strict=True) if c == top]
    next_keys = sorted(set(at_top) | (set(boundary_keys) if top == last else set()))
    seen = set(boundary_keys)
    keep = [not (c == last and k in seen) for k, c in zip(keys, cursor_text, strict=True)]
    return rows.filter(pa.array(keep, type=pa.bool_())), top, next_keys


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
    cursor_col: str | None,
    last: str | None,
) -> pa.Table:
    query = sql.SQL("select {cols} from {schema}.{table}").format(
        cols=_select_list(columns), schema=sql.Identifier(schema), table=sql.Identifier(table)
    )
    if cursor_col and last is not None:
        query = sql.SQL("{q} where {cur} >= {last}").format(
            q=query, cur=sql.Identifier(cursor_col), last=sql.Literal(last)
        )
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
    last: str | None,
) -> tuple[pa.Table | None, str | None]:
    """Keys hard-deleted since `last` that are still gone (a re-inserted key is not deleted)."""
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
        "select {keys}, (d.deleted_at at time zone 'UTC') as deleted_at"
        " from cdc.deleted_rows d where d.table_name = {name}"
        " {since} and not exists (select 1 from {schema}.{table} t where {match})"
    ).format(
        keys=sql.SQL(", ").join(
            sql.SQL("{e} as {a}").format(e=e, a=sql.Identifier(c.source))
            for c, e in zip(pk_cols, key_exprs, strict=True)
        ),
        name=sql.Literal(table),
        since=sql.SQL("and d.deleted_at >= {}").format(sql.Literal(last)) if last else sql.SQL(""),
        schema=sql.Identifier(schema),
        table=sql.Identifier(table),
        match=match,
    )
    rows = conn.execute(query).fetchall()
    if not rows:
        return None, last
    arrays = {
        col.source: pa.array([r[i] for r in rows], type=typemap.arrow_type(col.dest_type))
        for i, col in enumerate(pk_cols)
    }
    newest = max(r[-1] for r in rows)
    return pa.table(arrays), _cursor_text(newest)


def _max_delete_time(conn: psycopg.Connection, table: str) -> str | None:
    row = conn.execute(
        "select max(deleted_at at time zone 'UTC') from cdc.deleted_rows where table_name = %s",
        (table,),
    ).fetchone()
    return _cursor_text(row[0]) if row and row[0] is not None else None


_ARROW_TO_SOURCE = {
    pa.int64(): "bigint",
    pa.int32(): "integer",
    pa.int16(): "integer",
    pa.float64(): "double precision",
    pa.float32(): "double precision",
    pa.string(): "text",
    pa.large_string(): "text",
    pa.bool_(): "boolean",
    pa.date32(): "date",
}


def _arrow_source_type(dtype: pa.DataType) -> str:
    """A PostgreSQL-style type name for an Arrow type (files have no catalog of their own)."""
    if pa.types.is_timestamp(dtype):
        return "timestamptz" if dtype.tz else "timestamp"
    if pa.types.is_decimal(dtype):
        return f"numeric({dtype.precision},{dtype.scale})"
    if pa.types.is_time(dtype):
        return "time"
    return _ARROW_TO_SOURCE.get(dtype, "text")


def _batch_seq(path: Path) -> int:
    return int(path.stem.split("_")[-1])


def extract_telematics(
    folder: Path,
    connector: ConnectorConfig,
    states: dict[str, dict[str, Any]],
    full_tables: set[str] | None,
) -> Extract:
    """New immutable Parquet batches since the last delivered batch sequence number.

    The rows themselves are not read here: the load phase hands the file list to DuckDB.
    """
    import pyarrow.parquet as pq

    out = Extract(tables=[])
    for name, cfg in connector.tables.items():
        if not cfg.enabled:
            continue
        dest_name = catalog.destination_name(name)
        state = states.get(dest_name, {})
        full = (full_tables is not None and dest_name in full_tables) or not state
        last = -1 if full else int(state.get("seq", -1))
        files = sorted(
            (p for p in folder.glob("batch_*.parquet") if _batch_seq(p) > last), key=_batch_seq
        )
        known = connector.catalog_system.table(name)
        known_types = {c.name: c.type for c in known.columns}
        seen: dict[str, str] = {}
        readable: list[Path] = []
        schemas: set[str] = set()
        for path in files:
            try:
                schema = pq.read_schema(path)
            except (OSError, pa.ArrowInvalid):
                # A batch still being written has no footer yet: deliver it next sync, and
                # nothing after it, so the sequence cursor never skips a batch.
                break
            readable.append(path)
            schemas.add(schema.to_string(show_schema_metadata=False))
            for fld in schema:
                seen.setdefault(fld.name, known_types.get(fld.name) or _arrow_source_type(fld.type))
        files = readable
        if not files:
            seen = dict(known_types)
        columns = [
            Column(
                source=c,
                dest=catalog.destination_name(c),
                source_type=t,
                dest_type=typemap.destination_type(t),
                hashed=c in cfg.hashed,
            )
            for c, t in seen.items()
        ]
        new_state: dict[str, Any] = {"initialized": True, "seq": last}
        if files:
            new_state["seq"] = _batch_seq(files[-1])
            new_state["files"] = len(files)
        out.tables.append(
            TableBatch(
                source_name=name,
                dest_name=dest_name,
                mode="append",
                columns=columns,
                files=files,
                union_by_name=len(schemas) > 1,
                full=full,
                new_state=new_state,
            )
        )
    return out


def extract_sheets(folder: Path, connector: ConnectorConfig) -> Extract:
    """Every enabled sheet, whole: a sheet has no cursor, so each sync replaces the table."""
    out = Extract(tables=[])
    for name, cfg in connector.tables.items():
        if not cfg.enabled:
            continue
        path = folder / f"{name}.csv"
        if not path.exists():
            out.notes.append(
                (
                    "WARNING",
                    "table_removed",
                    {"table": catalog.destination_name(name), "message": f"{path.name} missing"},
                )
            )
            continue
        known = {c.name: c.type for c in connector.catalog_system.table(name).columns}
        rows = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={
                    h: typemap.arrow_type(typemap.destination_type(t)) for h, t in known.items()
                },
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        columns = []
        for fld in rows.schema:
            source_type = known.get(fld.name) or _arrow_source_type(fld.type)
            columns.append(
                Column(
                    source=fld.name,
                    dest=catalog.destination_name(fld.name),
                    source_type=source_type,
                    dest_type=typemap.destination_type(source_type),
                    hashed=fld.name in cfg.hashed,
                )
            )
        out.tables.append(
            TableBatch(
                source_name=name,
                dest_name=catalog.destination_name(name),
                mode="replace",
                columns=columns,
                rows=rows,
                full=True,
                new_state={"initialized": True, "rows": rows.num_rows},
            )
        )
    return out
