"""The initial history of the estate: all six systems, generated and bulk-loaded.

Same (seed, scale, tenants, history days, start) gives byte-identical data: every random draw
comes from a stream keyed by the seed and a purpose, never from the wall clock or process
state, and every time is measured from the estate's start (:func:`config.start_us`). The same
seed with another start gives the same data shifted in time.
"""

from __future__ import annotations

import contextvars
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from standins.sources import (
    catalog,
    jobsdb,
    quickbooks,
    salesforce,
    schema,
    servicetitan,
    sheets,
    telematics,
)
from standins.sources.bulkload import connect, copy_table
from standins.sources.config import DAY_US, GPS_HISTORY_DAYS, from_us, start_us, volumes
from standins.sources.postgres import PostgresCluster
from standins.sources.rand import stream
from standins.sources.state import EstateState

Progress = Callable[[str, int, int], None]
SAAS_DB = "saas"


def jobs_db_name(tenant: str) -> str:
    """The tenant's Jobs DB database name."""
    return f"jobs_{tenant}"


@dataclass
class Paths:
    """Where the estate keeps its files under ``FIELDFORCE_HOME``."""

    home: Path

    @property
    def pg(self) -> Path:
        """PostgreSQL data directory."""
        return self.home / "pg"

    @property
    def sources(self) -> Path:
        """Files of the file-based systems and the state."""
        return self.home / "sources"

    @property
    def telematics(self) -> Path:
        """GPS Parquet batches."""
        return self.sources / "telematics"

    @property
    def sheets(self) -> Path:
        """Google Sheets CSV exports."""
        return self.sources / "sheets"

    @property
    def state(self) -> Path:
        """``estate.json``."""
        return self.sources / "estate.json"


@dataclass
class TenantData:
    """One tenant's generated Jobs DB, kept in memory for the SaaS systems derived from it."""

    tenant: jobsdb.Tenant
    services: jobsdb.ServiceTypes
    technicians: jobsdb.Technicians
    customers: jobsdb.Customers
    jobs: jobsdb.Jobs
    items: jobsdb.LineItems
    tables: dict[str, pa.Table]


@dataclass
class Report:
    """Rows per ``system.table`` and seconds per system, for progress output and benchmarks."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def system_rows(self, system: str) -> int:
        """Total rows written for one system."""
        return sum(v for k, v in self.rows.items() if k.split(".")[0] == system)


def build_tenant(
    seed: int, scale: float, tenants: tuple[str, ...], name: str, history_days: int, now_us: int
) -> TenantData:
    """Generate one tenant's Jobs DB in memory."""
    vol = volumes(scale, len(tenants))
    tenant = jobsdb.tenant_facts(seed, name, tenants)
    services, services_table = jobsdb.service_types(seed, tenant)
    techs, techs_table = jobsdb.technicians(seed, tenant, vol)
    cust = jobsdb.customers(seed, tenant, vol, now_us)
    job = jobsdb.jobs(seed, tenant, services, techs, cust, history_days, now_us)
    items = jobsdb.line_items(seed, tenant, services, job, tenant.id_base + 1)
    jobsdb.soft_delete_customers(seed, tenant, cust, job, now_us)
    tables = {
        "service_types": services_table,
        "technicians": techs_table,
        "customers": jobsdb.customers_table(stream(seed, tenant.index, "customer_details"), cust),
        "jobs": jobsdb.jobs_table(job, services, stream(seed, tenant.index, "notes")),
        "job_line_items": jobsdb.line_items_table(items),
    }
    return TenantData(tenant, services, techs, cust, job, items, tables)


def _recreate_database(cluster: PostgresCluster, name: str) -> None:
    with connect(cluster.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
    cluster.create_database(name)


def _load_tenant(
    cluster: PostgresCluster, state: EstateState, name: str, now_iso: str
) -> tuple[TenantData, dict[str, int]]:
    """Generate one tenant's Jobs DB and load it into a fresh ``jobs_<tenant>`` database."""
    td = build_tenant(
        state.seed, state.scale, tuple(state.tenants), name, state.history_days, state.clock_us
    )
    db = jobs_db_name(name)
    _recreate_database(cluster, db)
    rows = {}
    with connect(cluster.dsn(db)) as conn:
        for table in catalog.JOBS_DB.tables:
            conn.execute(schema.create_table(catalog.JOBS_DB, table))
            rows[table.name] = copy_table(
                conn, schema.qualified(catalog.JOBS_DB, table), td.tables[table.name]
            )
        conn.execute(schema.CDC_SETUP)
        schema.set_clock(conn, now_iso)
        schema.finish_jobs_db(conn)
    td.tables.clear()
    return td, rows


def _write_gps(state: EstateState, paths: Paths, first: int, end: int) -> tuple[list[int], float]:
    started = time.perf_counter()
    shutil.rmtree(paths.telematics, ignore_errors=True)
    fleet = telematics.fleet(state.seed, state.scale, tuple(state.tenants))
    counts = list(telematics.write_history(state.seed, fleet, paths.telematics, first, end))
    return counts, time.perf_counter() - started


def generate(
    cluster: PostgresCluster, paths: Paths, state: EstateState, progress: Progress | None = None
) -> Report:
    """(Re)create every database and file of the estate with its initial history.

    Existing estate data is dropped first, so a rerun yields exactly the same bytes. Two
    tenants load in parallel (one PostgreSQL backend each), and the GPS files are written
    while the SaaS databases load: on two cores that nearly halves the wall time. Output
    never depends on the interleaving, because every table is a pure function of the seed.
    """
    report = Report()
    seed, tenants = state.seed, tuple(state.tenants)
    now_us = state.clock_us
    now_iso = from_us(now_us).isoformat()
    origin = start_us()
    gps_first = int((now_us - GPS_HISTORY_DAYS * DAY_US - origin) // telematics.BATCH_US)
    gps_end = int((now_us - origin) // telematics.BATCH_US)
    total = len(tenants) + 4 + (gps_end - gps_first)
    done = 0

    def tick(stage: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(stage, done, total)

    started = time.perf_counter()
    data: list[TenantData] = []
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="jobs-db") as pool:
        # Each task runs in a copy of this context: the pool's threads see the estate's start.
        futures = [
            pool.submit(contextvars.copy_context().run, _load_tenant, cluster, state, name, now_iso)
            for name in tenants
        ]
        for name, future in zip(tenants, futures, strict=True):
            td, rows = future.result()
            data.append(td)
            for table, count in rows.items():
                report.rows[f"jobs_db.{table}"] = report.rows.get(f"jobs_db.{table}", 0) + count
            tick(f"jobs_db/{name}")
    report.seconds["jobs_db"] = time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="telematics") as gps_pool:
        gps_future = gps_pool.submit(
            contextvars.copy_context().run, _write_gps, state, paths, gps_first, gps_end
        )
        _recreate_database(cluster, SAAS_DB)
        with connect(cluster.dsn(SAAS_DB)) as conn:
            for system in (catalog.SALESFORCE, catalog.QUICKBOOKS, catalog.SERVICETITAN):
                conn.execute(f"create schema {system.schema}")
                for table in system.tables:
                    conn.execute(schema.create_table(system, table))
            conn.execute(schema.SAAS_SIM_SETUP)

            started = time.perf_counter()
            for td in data:
                for name, table in salesforce.salesforce(
                    seed, td.tenant, td.customers, now_us
                ).items():
                    key = f"salesforce.{name}"
                    report.rows[key] = report.rows.get(key, 0) + copy_table(
                        conn, f'salesforce."{name}"', table
                    )
            report.seconds["salesforce"] = time.perf_counter() - started
            tick("salesforce")

            started = time.perf_counter()
            books = [
                quickbooks.TenantBooks(td.tenant, td.jobs, td.items, td.customers) for td in data
            ]
            qb_tables, pending = quickbooks.quickbooks(seed, books, now_us)
            for name, table in qb_tables.items():
                report.rows[f"quickbooks.{name}"] = copy_table(conn, f'quickbooks."{name}"', table)
            copy_table(conn, "sim.pending_payments", pending)
            report.seconds["quickbooks"] = time.perf_counter() - started
            tick("quickbooks")

            started = time.perf_counter()
            st_parts = [(td.tenant, td.jobs, td.services) for td in data]
            for name, table in servicetitan.servicetitan(seed, st_parts, now_us).items():
                report.rows[f"servicetitan.{name}"] = copy_table(
                    conn, f'servicetitan."{name}"', table
                )
            report.seconds["servicetitan"] = time.perf_counter() - started
            tick("servicetitan")
            started = time.perf_counter()
            schema.finish_saas(conn)
            report.seconds["saas_indexes"] = time.perf_counter() - started
        del data
        counts, gps_seconds = gps_future.result()
    for _ in counts:
        tick("telematics")
    report.rows["telematics.gps_events"] = sum(counts)
    report.seconds["telematics"] = gps_seconds
    state.gps_next_seq = gps_end

    started = time.perf_counter()
    content = sheets.regional_targets(seed, volumes(state.scale, len(tenants)), tenants, now_us)
    sheets.write(paths.sheets, content)
    report.rows["sheets.regional_targets"] = content.count(b"\n") - 1
    report.seconds["sheets"] = time.perf_counter() - started
    state.sheet_revision = int((now_us - origin) // DAY_US)
    tick("sheets")
    state.rows = dict(report.rows)
    return report


def history_now_us(history_days: int) -> int:
    """The end of the generated history: the estate's start plus the history."""
    return start_us() + history_days * DAY_US
