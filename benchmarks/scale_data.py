"""``bench scale``'s warehouse: the raw landing tables synthesized in DuckDB, and the syncs.

Split from :mod:`benchmarks.scale` (what is measured and how) because this is all SQL: the
landing contract's tables (docs/CONTRACTS.md) filled with ``range()`` at a scale, as
``benchmarks/incremental.py`` does, and the two change sets landed on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from standins.sources.config import DEFAULT_HISTORY_DAYS, volumes

from tests.integration.dbt.raw_fixture import all_tables, table_columns

TENANTS = ("bu_north", "bu_south")
ID_OFFSET = 100_000_000
NOW = "2026-04-01 00:00:00"
"""The synthesized estate's now: history before it, bookings after it."""
BOOKING_DAYS = 14
GPS_DAYS = 2
LATE_SHARE = 0.01
DUPLICATE_SHARE = 0.005
GPS_TABLE = ("fivetran_telematics", "gps_events")


@dataclass(frozen=True)
class JobsChange:
    """One 15-minute Jobs DB sync of one tenant, in rows per kind of change."""

    new_jobs: int
    updated_jobs: int
    deleted_jobs: int
    new_line_items: int
    new_customers: int

    @property
    def rows(self) -> int:
        """Rows the sync lands."""
        return (
            self.new_jobs
            + self.updated_jobs
            + self.deleted_jobs
            + self.new_line_items
            + self.new_customers
        )


def _connect(path: Path) -> Any:
    import duckdb

    conn = duckdb.connect(str(path))
    # The benchmark's own process stays well inside the 8 GiB it reports against.
    conn.execute("set memory_limit = '4GB'")
    conn.execute("set preserve_insertion_order = false")
    return conn


def synthesize(path: Path, scale: float) -> dict[str, int]:
    """Create every raw table of the landing contract and fill it for ``scale``.

    Returns:
        Rows per filled ``schema.table``.
    """
    vol = volumes(scale, len(TENANTS))
    days = DEFAULT_HISTORY_DAYS + BOOKING_DAYS
    per_tenant = vol.jobs
    rows: dict[str, int] = {}
    with _connect(path) as conn:
        for schema, table in all_tables(TENANTS):
            columns = ", ".join(f"{name} {kind}" for name, kind in table_columns(schema, table))
            conn.execute(f"create schema if not exists {schema}")
            conn.execute(f'create or replace table {schema}."{table}" ({columns})')
        start = f"timestamp '{NOW}' - interval {DEFAULT_HISTORY_DAYS} day"
        for index, tenant in enumerate(TENANTS, start=1):
            schema, base = f"fivetran_postgres_{tenant}", index * ID_OFFSET
            conn.execute(f"""
                insert into {schema}.service_types
                select {base} + i, 'service ' || i, ['HVAC', 'Plumbing', 'Electrical'][1 + i % 3],
                    10000 + i * 100, 60, true, {start}, {start}, {start}, false
                from range(1, 19) as t(i)""")
            conn.execute(f"""
                insert into {schema}.customers
                select {base} + i, 'first', 'last', 'c' || i || '@example.com', '555-0100',
                    i || ' Main St', 'city', 'NY', '10001', 1 + i % 8, 'America/New_York',
                    case when i % 7 = 0 then 'commercial' else 'residential' end, null, null,
                    {start} - interval 1 day, synced, synced, false
                from (
                    -- synced when last changed, spread over the history as the jobs are (a
                    -- platform that has run for months has it so, and a lookback of days
                    -- then holds days of customers, not all of them)
                    select i, {start} + to_seconds(
                        (i * {DEFAULT_HISTORY_DAYS * 86400} // {vol.customers})::bigint
                    ) as synced
                    from range(1, {vol.customers + 1}) as t(i)
                )""")
            conn.execute(f"""
                insert into {schema}.technicians
                select {base} + i, 'first', 'last', 't' || i || '@example.com', '555-0101',
                    1 + i % 8, 'America/New_York', 'journeyman', date '2023-01-01', time '08:00',
                    time '16:00', true, {start}, {start}, {start}, false
                from range(1, {vol.technicians + 1}) as t(i)""")
            conn.execute(f"""
                insert into {schema}.jobs
                select
                    {base} + i, {base} + 1 + i % {vol.customers}, {base} + 1 + i % {vol.technicians},
                    {base} + 1 + i % 18, 1 + i % 8,
                    case when scheduled >= timestamp '{NOW}' then 'scheduled'
                        when i % 20 = 0 then 'cancelled' else 'completed' end,
                    'medium', scheduled,
                    case when scheduled < timestamp '{NOW}' and i % 20 <> 0 then scheduled + interval 10 minute end,
                    case when scheduled < timestamp '{NOW}' and i % 20 <> 0 then scheduled + interval 2 hour end,
                    case when scheduled < timestamp '{NOW}' and i % 20 = 0 then scheduled end,
                    10000 + (i * 7919) % 90000, null,
                    scheduled - interval 2 day,
                    least(scheduled + interval 2 hour, timestamp '{NOW}'),
                    -- synced when last changed, as a platform that has run for months has
                    -- it: a past job at its completion, a booking some day in the last 14
                    case when scheduled < timestamp '{NOW}'
                        then least(scheduled + interval 2 hour, timestamp '{NOW}')
                        else timestamp '{NOW}' - to_days((i % {BOOKING_DAYS})::integer)
                    end,
                    false
                from (
                    select i, {start} + to_seconds((i * {days * 86400} // {per_tenant})::bigint)
                        as scheduled
                    from range(1, {per_tenant + 1}) as t(i)
                )""")
            conn.execute(f"""
                insert into {schema}.job_line_items
                select job_id * 4 + k, job_id, ['labor', 'part', 'part', 'fee'][1 + k],
                    'item ' || k, 1.0, 2500 + k * 1000, 2500 + k * 1000, created_at, updated_at,
                    _fivetran_synced, false
                from {schema}.jobs, range(0, 3) as t(k)
                where k < 2 or job_id % 4 <> 0""")
            conn.execute(f"""
                insert into fivetran_quickbooks.invoice
                select job_id + 5000000000, 'INV-' || job_id, customer_id, job_id, '{tenant}',
                    completed_at::date, completed_at::date + 30, total_amount_cents / 100,
                    case when job_id % 5 = 0 then total_amount_cents / 100 else 0 end,
                    case when job_id % 5 = 0 then 'Open' else 'Paid' end, 'USD',
                    completed_at, completed_at, _fivetran_synced, false
                from {schema}.jobs where status = 'completed'""")
        conn.execute("""
            insert into fivetran_quickbooks.payment
            select id, id, customer_ref, txn_date + 3, total_amt, 'Card', created_at + interval 3 day,
                updated_at + interval 3 day, _fivetran_synced, false
            from fivetran_quickbooks.invoice where status = 'Paid'""")
        techs = vol.technicians
        events = vol.gps_events_per_day * len(TENANTS) * GPS_DAYS
        step_us = GPS_DAYS * 86_400_000_000 // events  # i * step fits in int64 at any scale
        conn.execute(f"""
            insert into fivetran_telematics.gps_events
            select 'e' || i, 'GPS-' || tech, tech, 40.7 + (i % 1000) / 10000, -74.0 + (i % 977) / 10000,
                (i % 90)::double, (i % 360)::double, event_at, event_at + interval 5 second,
                'e' || i, least(date_trunc('hour', event_at) + interval 65 minute, timestamp '{NOW}'),
                false
            from (
                select i, {ID_OFFSET} * (1 + i % 2) + 1 + (i // 2) % {techs} as tech,
                    timestamp '{NOW}' - interval {GPS_DAYS} day + to_microseconds(i * {step_us})
                        as event_at
                from range(0, {events}) as t(i)
            )""")
        for schema, table in all_tables(TENANTS):
            (count,) = conn.execute(f'select count(*) from {schema}."{table}"').fetchone()
            if count:
                rows[f"{schema}.{table}"] = int(count)
    return rows


def land_jobs_sync(path: Path, change: JobsChange, tenant: str = TENANTS[0]) -> dict[str, int]:
    """One 15-minute Jobs DB sync of ``tenant``: rows landed per table."""
    schema = f"fivetran_postgres_{tenant}"
    synced = f"timestamp '{NOW}' + interval 15 minute"
    with _connect(path) as conn:
        (max_id,) = conn.execute(f"select max(job_id) from {schema}.jobs").fetchone()
        (max_customer,) = conn.execute(
            f"select max(customer_id) from {schema}.customers"
        ).fetchone()
        # Updates: the jobs of the last day move along (dispatched, started, completed).
        conn.execute(f"""
            update {schema}.jobs
            set status = 'completed', started_at = coalesce(started_at, scheduled_at),
                completed_at = coalesce(completed_at, scheduled_at + interval 90 minute),
                updated_at = {synced}, _fivetran_synced = {synced}
            where job_id in (
                select job_id from {schema}.jobs
                where scheduled_at >= timestamp '{NOW}' - interval 1 day
                    and scheduled_at < timestamp '{NOW}' + interval 1 day
                order by hash(job_id) limit {change.updated_jobs})""")
        conn.execute(f"""
            update {schema}.jobs set _fivetran_deleted = true, _fivetran_synced = {synced}
            where job_id in (
                select job_id from {schema}.jobs
                where scheduled_at >= timestamp '{NOW}' - interval 2 day
                    and scheduled_at < timestamp '{NOW}' - interval 1 day
                order by hash(job_id) limit {change.deleted_jobs})""")
        conn.execute(f"""
            insert into {schema}.customers
            select {max_customer} + i, 'first', 'last', 'n' || i || '@example.com', '555-0102',
                i || ' New St', 'city', 'NY', '10001', 1 + i % 8, 'America/New_York',
                'residential', null, null, {synced}, {synced}, {synced}, false
            from range(1, {change.new_customers + 1}) as t(i)""")
        conn.execute(f"""
            insert into {schema}.jobs
            select {max_id} + i, customer_id, technician_id, service_type_id, region_id, 'scheduled',
                'medium', {synced} + interval 2 day, null, null, null, total_amount_cents, null,
                {synced}, {synced}, {synced}, false
            from (select * from {schema}.jobs where job_id = {max_id}) as j,
                range(1, {change.new_jobs + 1}) as t(i)""")
        conn.execute(f"""
            insert into {schema}.job_line_items
            select ({max_id} + 1 + i // 3) * 4 + i % 3, {max_id} + 1 + i // 3, 'labor', 'new item',
                1.0, 2500, 2500, {synced}, {synced}, {synced}, false
            from range(0, {change.new_line_items}) as t(i)""")
    return {
        f"{schema}.jobs": change.new_jobs + change.updated_jobs + change.deleted_jobs,
        f"{schema}.job_line_items": change.new_line_items,
        f"{schema}.customers": change.new_customers,
    }


def land_gps_batch(path: Path, events: int) -> dict[str, int]:
    """One hourly GPS batch: on-time fixes of the last hour, 1 % late, 0.5 % redelivered."""
    schema, table = GPS_TABLE
    synced = f"timestamp '{NOW}' + interval 75 minute"
    late = round(events * LATE_SHARE)
    dups = round(events * DUPLICATE_SHARE)
    fresh = events - late - dups
    with _connect(path) as conn:
        conn.execute(f"""
            insert into {schema}.{table}
            select 'b' || i, 'GPS-' || tech, tech, 40.7, -74.0, 30.0, 90.0, event_at,
                event_at + interval 5 second, 'b' || i, {synced}, false
            from (
                select i, {ID_OFFSET} * (1 + i % 2) + 1 + (i // 2) % 100 as tech,
                    case when i < {late}
                        then timestamp '{NOW}' - interval 48 hour + to_seconds(i % 86400)
                        else timestamp '{NOW}' + to_microseconds((i * 3600000000 // {events})::bigint)
                    end as event_at
                from range(0, {late + fresh}) as t(i)
            )""")
        conn.execute(f"""
            insert into {schema}.{table}
            select event_id, device_id, technician_id, latitude, longitude, speed_kph,
                heading_degrees, event_at, {synced}, _fivetran_id || '-r', {synced}, false
            from {schema}.{table}
            where event_at >= timestamp '{NOW}' - interval 2 hour
                and event_at < timestamp '{NOW}'
            order by hash(event_id) limit {dups}""")
    return {f"{schema}.{table}": events}


def largest_table(path: Path) -> tuple[str, int]:
    """The warehouse's largest table (raw or built) and its rows."""
    with _connect(path) as conn:
        tables = conn.execute(
            "select schema_name, table_name, estimated_size from duckdb_tables()"
        ).fetchall()
        best = ("", 0)
        for schema, table, _ in sorted(tables, key=lambda t: -(t[2] or 0))[:5]:
            (count,) = conn.execute(f'select count(*) from "{schema}"."{table}"').fetchone()
            if count > best[1]:
                best = (f"{schema}.{table}", int(count))
    return best
