"""The initial history of the estate: all six systems, generated and bulk-loaded.

Same (seed, scale, tenants, history days, start) gives byte-identical data: every random draw
comes from a stream keyed by the seed and a purpose, never from the wall clock or process
state, and every time is measured from the estate's start (:func:`config.start_us`). The same
seed with another start gives the same data shifted in time. One cohesive pipeline: the
systems are generated in one order that the seeded streams depend on.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg
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
from standins.sources.errors import EstateError
from standins.sources.postgres import PostgresCluster
from standins.sources.rand import stream
from standins.sources.state import EstateState

Progress = Callable[[str, int, int], None]
SAAS_DB = "saas"
SLICE_ROWS = 500_000
"""Rows of a large table rendered at a time: the bulk load's memory does not grow with scale."""
PARALLEL_MAX_SCALE = 0.25
"""Above this scale the tenants' Jobs DBs are generated one at a time: a tenant's working
arrays peak at ~2.2 GiB per unit of scale (:mod:`standins.sources.memplan`), so two at once
would not leave scale 1.0 inside its 8 GiB; below it, two at once save wall time."""


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
    """One tenant's generated Jobs DB as arrays, kept for the SaaS systems derived from it.

    ``tables`` holds whole Arrow tables only when :func:`build_tenant` made them (tests, small
    estates); the bulk load renders :func:`tenant_slices` instead.
    """

    tenant: jobsdb.Tenant
    services: jobsdb.ServiceTypes
    technicians: jobsdb.Technicians
    customers: jobsdb.Customers
    jobs: jobsdb.Jobs
    items: jobsdb.LineItems
    tables: dict[str, pa.Table]
    small_tables: dict[str, pa.Table] = field(default_factory=dict)
    notes: jobsdb.Notes | None = None

    def slim(self) -> None:
        """Drop what no SaaS system reads (line-item ids, quantities, prices, times).

        QuickBooks mirrors the items' type, amount and description; nothing else of a line
        item is needed once it is loaded, and at scale 1.0 the rest is ~0.5 GiB per tenant.
        """
        empty = np.zeros(0, dtype=np.int64)
        items = self.items
        self.items = jobsdb.LineItems(
            ids=empty,
            job_id=empty,
            item_type=items.item_type.astype(np.int8),
            description=items.description,
            quantity_hundredths=empty,
            unit_price_cents=empty,
            amount_cents=items.amount_cents,
            created=empty,
        )
        self.tables.clear()
        self.small_tables.clear()
        self.notes = None


@dataclass
class Report:
    """Rows per ``system.table`` and seconds per system, for progress output and benchmarks."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def system_rows(self, system: str) -> int:
        """Total rows written for one system."""
        return sum(v for k, v in self.rows.items() if k.split(".")[0] == system)


def tenant_arrays(
    seed: int, scale: float, tenants: tuple[str, ...], name: str, history_days: int, now_us: int
) -> TenantData:
    """Generate one tenant's Jobs DB as arrays (the small tables as Arrow tables)."""
    vol = volumes(scale, len(tenants))
    tenant = jobsdb.tenant_facts(seed, name, tenants)
    services, services_table = jobsdb.service_types(seed, tenant)
    techs, techs_table = jobsdb.technicians(seed, tenant, vol)
    cust = jobsdb.customers(seed, tenant, vol, now_us)
    job = jobsdb.jobs(seed, tenant, services, techs, cust, history_days, now_us)
    items = jobsdb.line_items(seed, tenant, services, job, tenant.id_base + 1)
    jobsdb.soft_delete_customers(seed, tenant, cust, job, now_us)
    small = {
        "service_types": services_table,
        "technicians": techs_table,
        # Customers are a sixth of the jobs: rendered whole (their draws interleave).
        "customers": jobsdb.customers_table(stream(seed, tenant.index, "customer_details"), cust),
    }
    notes = jobsdb.Notes.draw(stream(seed, tenant.index, "notes"), len(job.ids))
    return TenantData(tenant, services, techs, cust, job, items, {}, small, notes)


def tenant_slices(td: TenantData, table: str, rows: int | None = None) -> Iterator[pa.Table]:
    """The rows of one Jobs DB table, at most ``rows`` (default :data:`SLICE_ROWS`) at a time.

    Every table yields at least one (possibly empty) slice.
    """
    rows = rows or SLICE_ROWS
    if table in td.small_tables:
        yield td.small_tables[table]
        return
    if table == "jobs":
        if td.notes is None:
            raise ValueError(f"tenant {td.tenant.name}: its jobs were already loaded")
        n = len(td.jobs.ids)
        for start in range(0, max(n, 1), rows):
            yield jobsdb.jobs_rows(td.jobs, td.services, td.notes, slice(start, start + rows))
    elif table == "job_line_items":
        n = len(td.items.ids)
        for start in range(0, max(n, 1), rows):
            yield jobsdb.line_items_table(td.items, slice(start, start + rows))
    else:
        raise KeyError(f"the Jobs DB has no table {table!r}")


def build_tenant(
    seed: int, scale: float, tenants: tuple[str, ...], name: str, history_days: int, now_us: int
) -> TenantData:
    """Generate one tenant's Jobs DB in memory, every table whole (tests, small estates)."""
    td = tenant_arrays(seed, scale, tenants, name, history_days, now_us)
    td.tables = {
        table.name: pa.concat_tables(tenant_slices(td, table.name))
        for table in catalog.JOBS_DB.tables
    }
    return td


@contextlib.contextmanager
def scale_errors(what: str, where: Path | str) -> Iterator[None]:
    """Turn what a large estate runs into (memory, a full disk) into a one-line EstateError."""
    try:
        yield
    except MemoryError:
        raise EstateError(
            f"out of memory while {what} ({where}): try a smaller --scale or free memory"
        ) from None
    except psycopg.errors.DiskFull as exc:
        raise EstateError(
            f"disk full while {what} ({where}): PostgreSQL said {str(exc).strip()}; free space"
            " or point FIELDFORCE_HOME at a larger disk"
        ) from None
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        raise EstateError(
            f"disk full while {what} ({where}): free space or point FIELDFORCE_HOME at a"
            " larger disk"
        ) from None


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def check_resources(paths: Paths, scale: float, n_tenants: int) -> None:
    """Refuse to start when the disk or memory cannot hold the estate (see :mod:`memplan`).

    The estate being replaced counts as free: it is dropped before the new one is written.

    Raises:
        EstateError: naming the directory or the memory, what is needed and what is free.
    """
    from standins.sources import memplan

    needed = memplan.disk_needed_bytes(scale, n_tenants)
    probe = paths.home
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free + _size(paths.pg) + _size(paths.sources)
    if free < needed:
        raise EstateError(
            f"not enough disk for the estate at scale {scale}: ~{needed / 2**30:.1f} GiB needed"
            f" under {paths.home}, {free / 2**30:.1f} GiB free; free space, use a smaller"
            " --scale or point FIELDFORCE_HOME at a larger disk"
        )
    workers = tenant_workers(scale)
    memory = memplan.memory_needed_bytes(scale, workers)
    available = memplan.available_memory_bytes()
    if available < memory:
        raise EstateError(
            f"not enough memory to generate the estate at scale {scale}: ~{memory / 2**30:.1f}"
            f" GiB needed by this process, {available / 2**30:.1f} GiB available; stop other"
            " programs or use a smaller --scale"
        )


def tenant_workers(scale: float) -> int:
    """How many tenants' Jobs DBs are generated at once (see :data:`PARALLEL_MAX_SCALE`)."""
    return 2 if scale <= PARALLEL_MAX_SCALE else 1


def _recreate_database(cluster: PostgresCluster, name: str) -> None:
    with connect(cluster.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
    cluster.create_database(name)


def _load_tenant(
    cluster: PostgresCluster, state: EstateState, name: str, now_iso: str
) -> tuple[TenantData, dict[str, int]]:
    """Generate one tenant's Jobs DB and load it, a slice at a time, into ``jobs_<tenant>``."""
    db = jobs_db_name(name)
    with scale_errors(f"generating the Jobs DB of tenant {name}", f"scale {state.scale}"):
        td = tenant_arrays(
            state.seed, state.scale, tuple(state.tenants), name, state.history_days, state.clock_us
        )
    _recreate_database(cluster, db)
    rows = {}
    with connect(cluster.dsn(db)) as conn:
        for table in catalog.JOBS_DB.tables:
            conn.execute(schema.create_table(catalog.JOBS_DB, table))
            target = schema.qualified(catalog.JOBS_DB, table)
            with scale_errors(f"loading {db}.{table.name}", cluster.data_dir):
                rows[table.name] = sum(
                    copy_table(conn, target, piece) for piece in tenant_slices(td, table.name)
                )
        with scale_errors(f"indexing {db}", cluster.data_dir):
            conn.execute(schema.CDC_SETUP)
            schema.set_clock(conn, now_iso)
            schema.finish_jobs_db(conn)
    td.slim()
    return td, rows


def _write_gps(state: EstateState, paths: Paths, first: int, end: int) -> tuple[list[int], float]:
    started = time.perf_counter()
    shutil.rmtree(paths.telematics, ignore_errors=True)
    fleet = telematics.fleet(state.seed, state.scale, tuple(state.tenants))
    with scale_errors("writing the GPS history", paths.telematics):
        counts = list(telematics.write_history(state.seed, fleet, paths.telematics, first, end))
    return counts, time.perf_counter() - started


def generate(
    cluster: PostgresCluster, paths: Paths, state: EstateState, progress: Progress | None = None
) -> Report:
    """(Re)create every database and file of the estate with its initial history.

    Existing estate data is dropped first, so a rerun yields exactly the same bytes. Two
    tenants load in parallel (one PostgreSQL backend each) up to :data:`PARALLEL_MAX_SCALE`,
    and the GPS files are written while the SaaS databases load: on two cores that nearly
    halves the wall time. Output never depends on the interleaving, because every table is a
    pure function of the seed.

    Memory is bounded the way :mod:`standins.sources.memplan` models it: the arrays a
    tenant's systems derive from are held (they grow with the scale), every table is rendered
    and COPYed a slice of :data:`SLICE_ROWS` rows at a time (bounded), the GPS history is
    written a day and a chunk of technicians at a time (bounded).

    Raises:
        EstateError: the disk or memory cannot hold the estate (checked before anything is
            dropped), or memory or the disk ran out on the way (naming the step and the place).
    """
    check_resources(paths, state.scale, len(state.tenants))
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
    workers = tenant_workers(state.scale)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jobs-db") as pool:
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
                with scale_errors("loading Salesforce", f"{SAAS_DB} in {cluster.data_dir}"):
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
            with scale_errors("loading QuickBooks", f"{SAAS_DB} in {cluster.data_dir}"):
                for name, piece in quickbooks.quickbooks_slices(seed, books, now_us):
                    target = (
                        "sim.pending_payments"
                        if name == "pending_payments"
                        else f'quickbooks."{name}"'
                    )
                    count = copy_table(conn, target, piece)
                    if name != "pending_payments":
                        key = f"quickbooks.{name}"
                        report.rows[key] = report.rows.get(key, 0) + count
            del books
            report.seconds["quickbooks"] = time.perf_counter() - started
            tick("quickbooks")

            started = time.perf_counter()
            st_parts = [(td.tenant, td.jobs, td.services) for td in data]
            with scale_errors("loading ServiceTitan", f"{SAAS_DB} in {cluster.data_dir}"):
                for name, table in servicetitan.servicetitan(seed, st_parts, now_us).items():
                    report.rows[f"servicetitan.{name}"] = copy_table(
                        conn, f'servicetitan."{name}"', table
                    )
            del st_parts
            report.seconds["servicetitan"] = time.perf_counter() - started
            tick("servicetitan")
            started = time.perf_counter()
            with scale_errors("indexing the SaaS systems", f"{SAAS_DB} in {cluster.data_dir}"):
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
