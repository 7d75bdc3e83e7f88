"""A small, self-made source estate in the catalog's shape, for tests and the landing benchmark.

It builds every catalog table (with the Jobs DB's hard-delete trigger into `cdc.deleted_rows`)
in PostgreSQL databases you give it, fills them with `generate_series` (fast at millions of
rows), writes GPS Parquet batches and the Sheets CSV. Values are synthetic but typed like the
real estate, and every PII column holds a recognisable clear value (`...@example.com`,
`+1-555-...`) so tests can prove none of it reaches the warehouse.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
from psycopg import sql

from standins.sources import catalog

_DELETE_TRIGGER = """
create schema if not exists cdc;
create table if not exists cdc.deleted_rows (
    table_name text, pk jsonb, deleted_at timestamptz default now(),
    txid bigint default txid_current());
create or replace function cdc.capture_delete() returns trigger language plpgsql as $$
begin
    insert into cdc.deleted_rows (table_name, pk)
    values (tg_table_name, jsonb_build_object(tg_argv[0], to_jsonb(old) -> tg_argv[0]));
    return old;
end $$;
"""


def create_tables(dsn: str, system: catalog.System) -> None:
    """Create the system's tables (and, for the Jobs DB, the delete-capture trigger)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("create schema if not exists {}").format(sql.Identifier(system.schema))
        )
        if system.storage == "postgres_tenant":
            conn.execute(_DELETE_TRIGGER)
        for table in system.tables:
            cols = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.type))
                for c in table.columns
            )
            pk = sql.SQL(", ").join(sql.Identifier(k) for k in table.primary_key)
            conn.execute(
                sql.SQL("create table if not exists {}.{} ({}, primary key ({}))").format(
                    sql.Identifier(system.schema), sql.Identifier(table.name), cols, pk
                )
            )
            if table.hard_deletes:
                conn.execute(
                    sql.SQL(
                        "create or replace trigger {} after delete on {}.{} for each row"
                        " execute function cdc.capture_delete({})"
                    ).format(
                        sql.Identifier(f"{table.name}_capture_delete"),
                        sql.Identifier(system.schema),
                        sql.Identifier(table.name),
                        sql.Literal(table.primary_key[0]),
                    )
                )


def _value(col: catalog.Column, table: catalog.Table, base: int) -> sql.Composable:
    """A typed expression of `g` (the generate_series row number) for one column."""
    name, typ = col.name, col.type.lower()
    if name in table.primary_key and typ == "bigint":
        return sql.SQL("{} + g").format(sql.Literal(base))
    if name in table.primary_key and typ == "integer":
        return sql.SQL("(g % 5) + 1")
    if typ.startswith("varchar(18)"):
        return sql.SQL("'001' || lpad(({} + g)::text, 15, '0')").format(sql.Literal(base))
    if col.pii and "email" in name.lower():
        return sql.SQL("'person' || g || '@example.com'")
    if col.pii and "phone" in name.lower():
        return sql.SQL("'+1-555-' || lpad(g::text, 7, '0')")
    if col.pii:
        return sql.SQL("g || ' Main Street'")
    if name == "IsDeleted":
        return sql.SQL("false")
    if typ == "bigint":
        return sql.SQL("(g % 997) + 1")
    if typ == "integer":
        return sql.SQL("(g % 8) + 1")
    if typ == "boolean":
        return sql.SQL("g % 2 = 0")
    if typ == "timestamptz":
        return sql.SQL("timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second'")
    if typ == "date":
        return sql.SQL("date '2026-01-01' + (g % 365)::int")
    if typ == "time":
        return sql.SQL("time '06:00' + (g % 8) * interval '1 hour'")
    if typ.startswith("numeric"):
        return sql.SQL("((g % 1000) * 1.25)::{}").format(sql.SQL(typ))
    if typ == "double precision":
        return sql.SQL("g * 0.5")
    return sql.SQL("{} || '_' || g").format(sql.Literal(name.lower()))


def fill_table(
    dsn: str, system: catalog.System, table: catalog.Table, rows: int, base: int = 0
) -> None:
    """Insert `rows` generated rows (ids `base + 1 ...`) into one table."""
    if len(table.primary_key) > 1:
        lines = 5
        select = sql.SQL(", ").join(
            sql.SQL("{} + ((g - 1) / {}) + 1").format(sql.Literal(base), sql.Literal(lines))
            if c.name == table.primary_key[0]
            else sql.SQL("((g - 1) % {}) + 1").format(sql.Literal(lines))
            if c.name == table.primary_key[1]
            else _value(c, table, base)
            for c in table.columns
        )
    else:
        select = sql.SQL(", ").join(_value(c, table, base) for c in table.columns)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("insert into {}.{} select {} from generate_series(1, {}) as g").format(
                sql.Identifier(system.schema), sql.Identifier(table.name), select, sql.Literal(rows)
            )
        )


def build_postgres(jobs_dsns: dict[str, str], saas_dsn: str, rows: int) -> None:
    """Create and fill the Jobs DB tenants and the SaaS schemas with `rows` rows per table."""
    for index, dsn in enumerate(jobs_dsns.values(), start=1):
        create_tables(dsn, catalog.JOBS_DB)
        for table in catalog.JOBS_DB.tables:
            fill_table(dsn, catalog.JOBS_DB, table, rows, base=index * catalog.ID_OFFSET)
    for system in (catalog.SALESFORCE, catalog.QUICKBOOKS, catalog.SERVICETITAN):
        create_tables(saas_dsn, system)
        for table in system.tables:
            fill_table(saas_dsn, system, table, rows)


def write_gps_batch(folder: Path, seq: int, events: int, seed: int = 0) -> Path:
    """Write one immutable GPS batch `batch_<seq:08d>.parquet` of `events` rows."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + seq)
    start = np.datetime64("2026-01-01T00:00:00", "us") + np.timedelta64(seq, "h")
    offsets = np.sort(rng.integers(0, 3_600_000_000, events)).astype("timedelta64[us]")
    event_at = start + offsets
    ids = pa.array(np.char.add(f"e{seq}-", np.arange(events).astype(str)))
    table = pa.table(
        {
            "event_id": ids,
            "device_id": pa.array(np.char.add("dev-", (np.arange(events) % 500).astype(str))),
            "technician_id": pa.array(np.arange(events, dtype=np.int64) % 500 + 1),
            "latitude": pa.array(rng.uniform(30, 48, events)),
            "longitude": pa.array(rng.uniform(-122, -72, events)),
            "speed_kph": pa.array(rng.uniform(0, 110, events)),
            "heading_degrees": pa.array(rng.uniform(0, 360, events)),
            "event_at": pa.array(event_at, type=pa.timestamp("us", tz="UTC")),
            "received_at": pa.array(
                event_at + np.timedelta64(5, "s"), type=pa.timestamp("us", tz="UTC")
            ),
        }
    )
    path = folder / f"batch_{seq:08d}.parquet"
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, row_group_size=1_000_000)
    tmp.replace(path)
    return path


def write_sheet(folder: Path, rows: int = 24) -> Path:
    """Write `regional_targets.csv` with the catalog's headers."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["Region ID,Month,Revenue Target,Jobs Target,Owner"]
    for i in range(rows):
        region = i % 8 + 1
        month = f"2026-{(i // 8) % 12 + 1:02d}-01"
        lines.append(f"{region},{month},{100000 + i * 1000}.00,{200 + i},owner{region}")
    path = folder / "regional_targets.csv"
    path.write_text("\n".join(lines) + "\n")
    return path
