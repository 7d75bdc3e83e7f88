"""Writing one sync into the DuckDB warehouse: one transaction, all or nothing.

Every table of a sync, its schema changes, its cursor state, Fivetran's metadata rows
(`fivetran_metadata.log`, `.incremental_mar`, `.connection`) are written in a single
transaction. A failure (or the process dying) before COMMIT leaves the warehouse and the cursors
exactly as they were, so the next sync reads the same changes again and nothing is lost.

Merges are set-based: the extracted Arrow batch is registered with DuckDB, trimmed of rows
whose cursor value did not move (read twice: at the inclusive timestamp cursor of a SaaS
connector, or in the window a Jobs DB snapshot cursor re-reads), then applied as
delete + insert on the primary key. GPS batches never pass through Python at all: DuckDB reads
the Parquet files directly into the append.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from standins.fivetran import typemap
from standins.fivetran.batch import Column, Extract, SyncError, TableBatch
from standins.fivetran.config import ConnectorConfig

META = "fivetran_metadata"
SYNCED = "_fivetran_synced"
DELETED = "_fivetran_deleted"
FIVETRAN_ID = "_fivetran_id"
ROW = "_row"
_META_COLUMNS = {SYNCED, DELETED, FIVETRAN_ID, ROW}

_META_DDL = (
    f"create schema if not exists {META}",
    f"""create table if not exists {META}.connection (
        connection_id varchar, connection_name varchar, connector_type varchar,
        destination_schema varchar, sync_frequency integer, schedule_type varchar,
        paused boolean, created_at timestamp, group_id varchar, succeeded_at timestamp,
        failed_at timestamp, _fivetran_synced timestamp default current_timestamp::timestamp,
        _fivetran_deleted boolean default false)""",
    f"""create table if not exists {META}.log (
        id varchar, connection_id varchar, time_stamp timestamp, event varchar,
        message_event varchar, message_data varchar, sync_id varchar,
        _fivetran_synced timestamp default current_timestamp::timestamp,
        _fivetran_deleted boolean default false)""",
    f"""create table if not exists {META}.incremental_mar (
        connection_id varchar, schema_name varchar, table_name varchar, measured_date date,
        free_type varchar, incremental_rows bigint, updated_at timestamp,
        _fivetran_synced timestamp default current_timestamp::timestamp,
        _fivetran_deleted boolean default false)""",
    f"""create table if not exists {META}.mar_keys (
        connection_id varchar, table_name varchar, month date, pk varchar)""",
    f"""create table if not exists {META}.connector_cursor (
        connection_id varchar, table_name varchar, state varchar, updated_at timestamp)""",
)


def q(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def open_warehouse(path: Path, timeout: float = 120.0) -> duckdb.DuckDBPyConnection:
    """Open the warehouse for writing, retrying with backoff while another process holds it.

    DuckDB allows one writing process per file (dbt and Dagster checks take turns with us), so
    a lock conflict is normal and waited out, not an error, until `timeout`.
    """
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        try:
            con = duckdb.connect(str(path))
            con.execute("set TimeZone = 'UTC'")
            return con
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def ensure_metadata(con: duckdb.DuckDBPyConnection) -> None:
    """Create `fivetran_metadata` and its tables if this warehouse has never been synced.

    Like the real Platform Connector's tables, `connection`, `log` and `incremental_mar` carry
    `_fivetran_synced` (and `_fivetran_deleted`), so observers measure their changes as they do any landed table.
    """
    for ddl in _META_DDL:
        con.execute(ddl)
    for table in ("connection", "log", "incremental_mar"):
        con.execute(
            f"alter table {META}.{table} add column if not exists _fivetran_synced timestamp"
            " default current_timestamp::timestamp"
        )
        con.execute(
            f"alter table {META}.{table} add column if not exists _fivetran_deleted boolean"
            " default false"
        )


def read_states(con: duckdb.DuckDBPyConnection, connection_id: str) -> dict[str, dict[str, Any]]:
    """Cursor state per destination table, as committed by the last successful sync."""
    rows = con.execute(
        f"select table_name, state from {META}.connector_cursor where connection_id = ?",
        [connection_id],
    ).fetchall()
    return {table: json.loads(state) for table, state in rows}


def dest_columns(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, dict[str, str]]:
    """Destination tables of a schema: column name -> DuckDB type, in column order."""
    out: dict[str, dict[str, str]] = {}
    for table, column, dtype in con.execute(
        "select table_name, column_name, data_type from information_schema.columns"
        " where table_schema = ? order by table_name, ordinal_position",
        [schema],
    ).fetchall():
        out.setdefault(table, {})[column] = dtype
    return out


@dataclass
class TableStats:
    """What a sync did to one destination table."""

    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    mar: int = 0
    free: bool = False
    schema_changes: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the admin API and the sync_end log."""
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "deleted": self.deleted,
            "mar": self.mar,
            "schema_changes": self.schema_changes,
        }


Hook = Callable[[str], None]


class Loader:
    """Applies one connector's extract inside the caller's open transaction."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        connector: ConnectorConfig,
        salt: str,
        synced_at: datetime,
        sync_id: str,
        after_table: Hook | None = None,
    ) -> None:
        """Bind the loader to a connection and a sync.

        Args:
            con: a warehouse connection with an open transaction.
            connector: the connector being synced.
            salt: hash salt for PII columns.
            synced_at: the sync's `_fivetran_synced` value (naive UTC).
            sync_id: the sync's id (log rows carry it).
            after_table: called with each table's name after it is written; the fault
                injection uses it to fail or die mid-sync.
        """
        self.con = con
        self.connector = connector
        self.schema = connector.schema
        self.salt = salt
        self.ts = synced_at
        self.sync_id = sync_id
        self.after_table = after_table
        self.month_start = synced_at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        self.logs: list[tuple[str, str, dict[str, Any]]] = []
        self.stats: dict[str, TableStats] = {}

    def apply(self, extract: Extract, states: dict[str, dict[str, Any]]) -> dict[str, TableStats]:
        """Write every table of the extract; raise SyncError on an incompatible change."""
        self.con.execute(f"create schema if not exists {q(self.schema)}")
        existing = dest_columns(self.con, self.schema)
        for level, event, data in extract.notes:
            self.logs.append((level, event, data))
        first_sync = not states
        for batch in extract.tables:
            stats = TableStats()
            self.stats[batch.dest_name] = stats
            cols = existing.get(batch.dest_name)
            created = cols is None
            if created:
                cols = self._create(batch)
                event = "create_table" if first_sync else "schema_change"
                self.logs.append(
                    ("INFO", event, {"type": "CREATE_TABLE", "table": batch.dest_name})
                )
                if not first_sync:
                    stats.schema_changes.append({"type": "CREATE_TABLE"})
            target = self._drift(batch, cols, stats, states.get(batch.dest_name, {}))
            if batch.mode == "upsert":
                self._upsert(batch, target, stats, created)
            elif batch.mode == "append":
                self._append(batch, target, stats)
            else:
                self._replace(batch, target, stats, created)
            stats.free = created or (batch.full and batch.mode != "replace")
            self._mar(batch.dest_name, stats)
            self._save_state(batch.dest_name, batch.new_state)
            if self.after_table is not None:
                self.after_table(batch.dest_name)
        return self.stats

    def _create(self, batch: TableBatch) -> dict[str, str]:
        cols: dict[str, str] = {
            c.dest: "VARCHAR" if c.hashed else c.dest_type for c in batch.columns
        }
        if batch.mode == "append":
            cols[FIVETRAN_ID] = "VARCHAR"
        if batch.mode == "replace":
            cols[ROW] = "INTEGER"
        cols[SYNCED] = "TIMESTAMP"
        cols[DELETED] = "BOOLEAN"
        body = ", ".join(f"{q(n)} {t}" for n, t in cols.items())
        self.con.execute(f"create table {q(self.schema)}.{q(batch.dest_name)} ({body})")
        return cols

    def _drift(
        self,
        batch: TableBatch,
        cols: dict[str, str],
        stats: TableStats,
        state: dict[str, Any],
    ) -> dict[str, str]:
        """Reconcile the destination with the source's columns; return dest column -> type."""
        table = f"{q(self.schema)}.{q(batch.dest_name)}"
        target = dict(cols)
        for col in batch.columns:
            incoming = "VARCHAR" if col.hashed else col.dest_type
            current = target.get(col.dest)
            if current is None:
                self.con.execute(f"alter table {table} add column {q(col.dest)} {incoming}")
                target[col.dest] = incoming
                change = {"type": "ADD_COLUMN", "column": col.dest, "data_type": incoming}
                stats.schema_changes.append(change)
                self.logs.append(("INFO", "schema_change", {"table": batch.dest_name, **change}))
                continue
            if typemap.holds(current, incoming):
                continue
            wider = typemap.widened(current, incoming)
            if wider is None:
                raise SyncError(
                    f"connector {self.connector.id}: incompatible type change on"
                    f" {self.schema}.{batch.dest_name}.{col.dest} (source"
                    f" {self.connector.catalog_system.schema}.{batch.source_name}.{col.source}):"
                    f" destination {current} cannot hold source {col.source_type} ({incoming})"
                )
            self.con.execute(f"alter table {table} alter column {q(col.dest)} type {wider}")
            target[col.dest] = wider
            change = {
                "type": "CHANGE_COLUMN_TYPE",
                "column": col.dest,
                "from": current,
                "to": wider,
            }
            stats.schema_changes.append(change)
            self.logs.append(("INFO", "schema_change", {"table": batch.dest_name, **change}))
        source_dests = {c.dest for c in batch.columns}
        removed = sorted(c for c in target if c not in source_dests and c not in _META_COLUMNS)
        already = set(state.get("removed_columns", []))
        for name in removed:
            if name not in already:
                change = {"type": "DROP_COLUMN", "column": name, "kept_in_destination": True}
                stats.schema_changes.append(change)
                self.logs.append(("WARNING", "schema_change", {"table": batch.dest_name, **change}))
        batch.new_state["removed_columns"] = removed
        return target

    def _expr(self, col: Column, dest_type: str, source_alias: str = "") -> str:
        ref = f"{source_alias}{q(col.source)}"
        if col.hashed:
            salt = self.salt.replace("'", "''")
            return f"case when {ref} is null then null else sha256('{salt}' || cast({ref} as varchar)) end"
        if dest_type == "TIMESTAMP" and typemap.is_timestamptz(col.source_type):
            # Epoch arithmetic instead of a time-zone cast: the ICU conversion a plain cast
            # does costs a third of a GPS append, and the value is UTC either way.
            return f"make_timestamp(epoch_us({ref}))"
        return f"cast({ref} as {dest_type})"

    def _pk_match(self, batch: TableBatch, left: str, right: str) -> str:
        return " and ".join(
            f"{left}.{q(batch.column(k).dest)} = {right}.{q(batch.column(k).dest)}"
            for k in batch.primary_key
        )

    def _key(self, batch: TableBatch, alias: str) -> str:
        """The primary key as one string (the MAR key store's key)."""
        parts = [f"cast({alias}.{q(batch.column(k).dest)} as varchar)" for k in batch.primary_key]
        return f"concat_ws('|', {', '.join(parts)})"

    def _upsert(
        self, batch: TableBatch, target: dict[str, str], stats: TableStats, created: bool
    ) -> None:
        assert batch.rows is not None
        table = f"{q(self.schema)}.{q(batch.dest_name)}"
        names = [q(c.dest) for c in batch.columns]
        select = ", ".join(f"{self._expr(c, target[c.dest])} as {q(c.dest)}" for c in batch.columns)
        insert_cols = ", ".join([*names, q(SYNCED), q(DELETED)])
        self.con.register("_src", batch.rows)
        try:
            if created:
                self.con.execute(
                    f"insert into {table} ({insert_cols}) select {select}, ?, false from _src",
                    [self.ts],
                )
                stats.inserted = batch.rows.num_rows
                stats.mar = batch.rows.num_rows
                return
            self.con.execute(f"create or replace temp table _stg as select {select} from _src")
            self.con.execute("create or replace temp table _changed (k varchar)")
            match = self._pk_match(batch, "d", "s")
            if batch.cursor_column:
                cur = q(batch.column(batch.cursor_column).dest)
                self.con.execute(
                    f"delete from _stg s using {table} d where {match}"
                    f" and d.{cur} is not distinct from s.{cur} and not d.{q(DELETED)}"
                )
            first_pk = q(batch.column(batch.primary_key[0]).dest)
            total, updated = self.con.execute(
                f"select count(*), count(d.{first_pk}) from _stg s left join {table} d on {match}"
            ).fetchone()  # type: ignore[misc]
            self.con.execute(f"insert into _changed select {self._key(batch, 's')} from _stg s")
            if batch.full:
                stats.deleted += self._mark_missing(batch, table, target)
            self.con.execute(f"delete from {table} d using _stg s where {match}")
            self.con.execute(
                f"insert into {table} ({insert_cols})"
                f" select {', '.join(names)}, ?, false from _stg",
                [self.ts],
            )
            stats.inserted, stats.updated = total - updated, updated
            if batch.deleted_keys is not None and batch.deleted_keys.num_rows:
                stats.deleted += self._apply_deletes(batch, table, target)
            stats.mar = (
                stats.inserted + stats.updated + stats.deleted
                if batch.full
                else self._count_paid(batch.dest_name)
            )
            self.con.execute("drop table if exists _stg")
            self.con.execute("drop table if exists _changed")
        finally:
            self.con.unregister("_src")

    def _count_paid(self, table: str) -> int:
        """Keys changed by this sync not yet counted this month; remember them.

        Fivetran bills a primary key once per calendar month however often it changes, and
        historical syncs are free, so only keys changed by incremental syncs are stored.
        """
        month = self.month_start.date()
        row = self.con.execute(
            f"""
            with fresh as (
                select distinct k from _changed
                except
                select pk from {META}.mar_keys
                where connection_id = ? and table_name = ? and month = ?
            )
            insert into {META}.mar_keys select ?, ?, ?, k from fresh
            returning 1
            """,
            [self.connector.id, table, month, self.connector.id, table, month],
        ).fetchall()
        return len(row)

    def _mark_missing(self, batch: TableBatch, table: str, target: dict[str, str]) -> int:
        """After a complete read, flag destination keys the source no longer has."""
        keys = ", ".join(
            f"cast({q(batch.column(k).source)} as {target[batch.column(k).dest]})"
            f" as {q(batch.column(k).dest)}"
            for k in batch.primary_key
        )
        self.con.execute(f"create or replace temp table _keys as select {keys} from _src")
        match = self._pk_match(batch, "d", "s")
        cond = f"not d.{q(DELETED)} and not exists (select 1 from _keys s where {match})"
        self.con.execute(
            f"insert into _changed select {self._key(batch, 'd')} from {table} d where {cond}"
        )
        count = self.con.execute(
            f"update {table} d set {q(DELETED)} = true, {q(SYNCED)} = ? where {cond} returning 1",
            [self.ts],
        ).fetchall()
        self.con.execute("drop table if exists _keys")
        return len(count)

    def _apply_deletes(self, batch: TableBatch, table: str, target: dict[str, str]) -> int:
        assert batch.deleted_keys is not None
        self.con.register("_del_src", batch.deleted_keys)
        keys = ", ".join(
            f"cast({q(batch.column(k).source)} as {target[batch.column(k).dest]})"
            f" as {q(batch.column(k).dest)}"
            for k in batch.primary_key
        )
        self.con.execute(f"create or replace temp table _del as select {keys} from _del_src")
        self.con.unregister("_del_src")
        match = self._pk_match(batch, "d", "k")
        self.con.execute(
            f"insert into _changed select {self._key(batch, 'd')} from {table} d join _del k"
            f" on {match} where not d.{q(DELETED)}"
        )
        count = self.con.execute(
            f"update {table} d set {q(DELETED)} = true, {q(SYNCED)} = ? from _del k"
            f" where {match} and not d.{q(DELETED)} returning 1",
            [self.ts],
        ).fetchall()
        self.con.execute("drop table if exists _del")
        return len(count)

    def _append(self, batch: TableBatch, target: dict[str, str], stats: TableStats) -> None:
        if not batch.files:
            return
        table = f"{q(self.schema)}.{q(batch.dest_name)}"
        names = [q(c.dest) for c in batch.columns]
        select = ", ".join(self._expr(c, target[c.dest]) for c in batch.columns)
        files = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in batch.files) + "]"
        if batch.full:
            self.con.execute(f"delete from {table}")
        before = self._count(table)
        self.con.execute(
            f"insert into {table} ({', '.join(names)}, {q(FIVETRAN_ID)}, {q(SYNCED)}, {q(DELETED)})"
            f" select {select},"
            f" regexp_extract(filename, 'batch_([0-9]+)', 1) || '-' || cast(file_row_number as varchar),"
            f" ?, false"
            f" from read_parquet({files}, filename = true, file_row_number = true"
            f"{', union_by_name = true' if batch.union_by_name else ''})",
            [self.ts],
        )
        stats.inserted = self._count(table) - before
        stats.mar = stats.inserted

    def _replace(
        self, batch: TableBatch, target: dict[str, str], stats: TableStats, created: bool
    ) -> None:
        assert batch.rows is not None
        table = f"{q(self.schema)}.{q(batch.dest_name)}"
        names = [q(c.dest) for c in batch.columns]
        select = ", ".join(self._expr(c, target[c.dest]) for c in batch.columns)
        self.con.register("_src", batch.rows)
        try:
            self.con.execute(f"create or replace temp table _old as select * from {table}")
            self.con.execute(f"delete from {table}")
            self.con.execute(
                f"insert into {table} ({', '.join(names)}, {q(ROW)}, {q(SYNCED)}, {q(DELETED)})"
                f" select {select}, cast(row_number() over () as integer), ?, false from _src",
                [self.ts],
            )
        finally:
            self.con.unregister("_src")
        cols = ", ".join([*names, q(ROW)])
        self.con.execute(
            "create or replace temp table _changed as"
            f" select cast({q(ROW)} as varchar) as k from"
            f" (select {cols} from {table} except select {cols} from _old)"
        )
        old = self._count("_old")
        new = batch.rows.num_rows
        stats.inserted = max(new - old, 0)
        stats.updated = (
            self.con.execute("select count(*) from _changed").fetchone()[0] - stats.inserted
        )  # type: ignore[index]
        stats.deleted = max(old - new, 0)
        stats.mar = new if created else self._count_paid(batch.dest_name)
        self.con.execute("drop table if exists _old")
        self.con.execute("drop table if exists _changed")

    def _count(self, table: str) -> int:
        row = self.con.execute(f"select count(*) from {table}").fetchone()
        return int(row[0]) if row else 0

    def _mar(self, table: str, stats: TableStats) -> None:
        """Add this sync's newly active rows to today's row (Fivetran: a key once a month)."""
        if not stats.mar:
            return
        free_type = "FREE" if stats.free else "PAID"
        day = self.ts.date()
        key = [self.connector.id, self.schema, table, day, free_type]
        updated = self.con.execute(
            f"update {META}.incremental_mar set incremental_rows = incremental_rows + ?,"
            " updated_at = ?, _fivetran_synced = current_timestamp::timestamp where connection_id = ? and schema_name = ? and table_name = ?"
            " and measured_date = ? and free_type = ? returning 1",
            [stats.mar, self.ts, *key],
        ).fetchall()
        if not updated:
            self.con.execute(
                f"insert into {META}.incremental_mar (connection_id, schema_name, table_name,"
                " measured_date, free_type, incremental_rows, updated_at)"
                " values (?, ?, ?, ?, ?, ?, ?)",
                [*key, stats.mar, self.ts],
            )

    def _save_state(self, table: str, state: dict[str, Any]) -> None:
        self.con.execute(
            f"delete from {META}.connector_cursor where connection_id = ? and table_name = ?",
            [self.connector.id, table],
        )
        self.con.execute(
            f"insert into {META}.connector_cursor values (?, ?, ?, ?)",
            [self.connector.id, table, json.dumps(state, default=str), self.ts],
        )


def write_log(
    con: duckdb.DuckDBPyConnection,
    connection_id: str,
    sync_id: str,
    entries: list[tuple[datetime, str, str, dict[str, Any]]],
) -> None:
    """Append `fivetran_metadata.log` rows: (time, level, message_event, message_data)."""
    for at, level, event, data in entries:
        con.execute(
            f"insert into {META}.log (id, connection_id, time_stamp, event, message_event,"
            " message_data, sync_id) values (?, ?, ?, ?, ?, ?, ?)",
            [
                uuid.uuid4().hex,
                connection_id,
                at,
                level,
                event,
                json.dumps(data, default=str),
                sync_id,
            ],
        )


def write_connection(con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> None:
    """Upsert the connector's row in `fivetran_metadata.connection`."""
    con.execute(f"delete from {META}.connection where connection_id = ?", [row["connection_id"]])
    cols = list(row)
    con.execute(
        f"insert into {META}.connection ({', '.join(cols)}) values ({', '.join('?' for _ in cols)})",
        [row[c] for c in cols],
    )
