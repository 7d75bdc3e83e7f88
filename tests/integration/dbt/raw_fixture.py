"""A small, hand-made raw landing for the dbt project's tests.

Two tenants, a few dozen rows, and the cases the models must get right: a hard-deleted
completed job (``_fivetran_deleted``) with its voided invoice, a soft-deleted customer, a
soft-deleted Salesforce account, a duplicated GPS event, and a late job (old ``updated_at``,
synced after newer rows). ``changes`` is a second sync: new and updated jobs, a late row,
a delete, another duplicate. Ground truth is computed here from the rows, in Python.

Over 400 lines because it is one declaration: the rows of the two syncs, written out so that
every case above can be read next to its data; the landed shape and the loaders live in
``raw_schema`` (re-exported here).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from standins.sources import catalog

from .raw_schema import (
    METADATA_COLUMNS,
    TENANTS,
    Row,
    Tables,
    all_tables,
    disabled_tables,
    load_duckdb,
    load_statements,
    sql_literal,
    table_columns,
    warehouse_type,
)

__all__ = [
    "METADATA_COLUMNS",
    "OFFSET",
    "TENANTS",
    "Row",
    "Tables",
    "all_tables",
    "changes",
    "disabled_tables",
    "duplicate_deliveries",
    "ground_truth",
    "initial_rows",
    "load_duckdb",
    "load_statements",
    "merge",
    "row_level_syncs",
    "sql_literal",
    "table_columns",
    "ts",
    "warehouse_type",
]


def ts(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A January 2025 UTC timestamp."""
    return dt.datetime(2025, 1, day, hour, minute)


SYNC_1 = ts(14, 6)
SYNC_2 = ts(15, 6)
OFFSET = catalog.ID_OFFSET


def _tenant_rows() -> Tables:
    rows: Tables = defaultdict(list)
    for index, tenant in enumerate(TENANTS, start=1):
        schema = catalog.landing_schema("jobs_db", tenant)
        base = index * OFFSET
        for n, (name, category, price, minutes) in enumerate(catalog.SERVICE_CATALOG[:4], start=1):
            rows[(schema, "service_types")].append(
                {
                    "service_type_id": n,
                    "service_name": name,
                    "category": category,
                    "base_price_cents": price,
                    "estimated_duration_minutes": minutes,
                    "is_active": True,
                    "created_at": ts(1, 0),
                    "updated_at": ts(1, 0),
                }
            )
        region = 1 if tenant == "bu_north" else 4
        for n in range(1, 4):
            rows[(schema, "customers")].append(
                {
                    "customer_id": base + n,
                    "first_name": f"c{n}",
                    "last_name": tenant,
                    "email": "a" * 64,
                    "phone": "b" * 64,
                    "address_line1": "c" * 64,
                    "city": "X",
                    "state": "NY" if region == 1 else "TX",
                    "postal_code": "10001",
                    "region_id": region,
                    "time_zone": "America/New_York",
                    "customer_type": "residential",
                    "sf_account_id": f"001{tenant[:4]}{n:011d}",
                    "deleted_at": ts(12, 9) if (tenant, n) == ("bu_north", 3) else None,
                    "created_at": ts(2, 0),
                    "updated_at": ts(12, 9) if n == 3 else ts(2, 0),
                }
            )
        for n in range(1, 3):
            rows[(schema, "technicians")].append(
                {
                    "technician_id": base + n,
                    "first_name": f"t{n}",
                    "last_name": tenant,
                    "email": "d" * 64,
                    "phone": "e" * 64,
                    "region_id": region,
                    "home_time_zone": "America/New_York",
                    "skill_level": ("apprentice", "master")[n - 1],
                    "hire_date": dt.date(2023, 1, n),
                    "shift_start": dt.time(8),
                    "shift_end": dt.time(16),
                    "is_active": True,
                    "created_at": ts(1, 0),
                    "updated_at": ts(1, 0),
                }
            )
    return rows


def _job(
    tenant: str,
    n: int,
    status: str,
    day: int,
    tech: int,
    customer: int,
    service: int,
    cents: int,
    synced: dt.datetime,
    updated: dt.datetime | None = None,
    deleted: bool = False,
) -> Row:
    base = (TENANTS.index(tenant) + 1) * OFFSET
    scheduled = ts(day, 9 + n % 5)
    completed = scheduled + dt.timedelta(hours=2) if status == "completed" else None
    return {
        "job_id": base + n,
        "customer_id": base + customer,
        "technician_id": base + tech,
        "service_type_id": service,
        "region_id": 1 if tenant == "bu_north" else 4,
        "status": status,
        "priority": "medium",
        "scheduled_at": scheduled,
        "started_at": scheduled + dt.timedelta(minutes=10)
        if status in ("completed", "in_progress")
        else None,
        "completed_at": completed,
        "cancelled_at": scheduled if status == "cancelled" else None,
        "total_amount_cents": cents,
        "notes": None,
        "created_at": ts(day - 1, 12),
        "updated_at": updated or completed or scheduled,
        "_fivetran_synced": synced,
        "_fivetran_deleted": deleted,
    }


def initial_rows() -> Tables:
    """The first sync."""
    rows = _tenant_rows()
    north, south = (catalog.landing_schema("jobs_db", t) for t in TENANTS)
    rows[(north, "jobs")] = [
        _job("bu_north", 1, "completed", 10, 1, 1, 1, 12_900, SYNC_1),
        _job("bu_north", 2, "completed", 10, 2, 2, 2, 34_501, SYNC_1),
        _job("bu_north", 3, "completed", 11, 1, 3, 3, 29_999, SYNC_1),
        _job("bu_north", 4, "cancelled", 11, 2, 1, 1, 12_900, SYNC_1),
        _job("bu_north", 5, "completed", 12, 1, 2, 4, 650_000, SYNC_1, deleted=True),
        _job("bu_north", 6, "scheduled", 13, 2, 1, 2, 34_500, SYNC_1),
        _job("bu_north", 7, "completed", 12, 2, 1, 1, 13_000, SYNC_1),
    ]
    rows[(south, "jobs")] = [
        _job("bu_south", 1, "completed", 10, 1, 1, 1, 12_900, SYNC_1),
        _job("bu_south", 2, "completed", 11, 1, 2, 3, 29_900, SYNC_1),
        _job("bu_south", 3, "in_progress", 12, 2, 1, 2, 34_500, SYNC_1),
        _job("bu_south", 4, "rescheduled", 12, 2, 2, 4, 650_000, SYNC_1),
        _job("bu_south", 5, "completed", 12, 2, 2, 2, 34_555, SYNC_1),
    ]
    for schema in (north, south):
        rows[(schema, "job_line_items")] = [
            {
                "line_item_id": job["job_id"] * 10 + 1,
                "job_id": job["job_id"],
                "item_type": "labor",
                "description": "labor",
                "quantity": 1,
                "unit_price_cents": job["total_amount_cents"],
                "amount_cents": job["total_amount_cents"],
                "created_at": job["created_at"],
                "updated_at": job["updated_at"],
                "_fivetran_synced": job["_fivetran_synced"],
                "_fivetran_deleted": job["_fivetran_deleted"],
            }
            for job in rows[(schema, "jobs")]
        ]
    rows[("fivetran_quickbooks", "invoice")] = [
        _invoice(job)
        for schema in (north, south)
        for job in rows[(schema, "jobs")]
        if job["status"] == "completed"
    ]
    rows[("fivetran_quickbooks", "invoice_line")] = [
        {
            "invoice_id": inv["id"],
            "line_num": 1,
            "description": "labor",
            "item_type": "labor",
            "amount": inv["total_amt"],
            "updated_at": inv["updated_at"],
        }
        for inv in rows[("fivetran_quickbooks", "invoice")]
    ]
    rows[("fivetran_quickbooks", "payment")] = [
        {
            "id": 1,
            "invoice_id": rows[("fivetran_quickbooks", "invoice")][0]["id"],
            "customer_ref": OFFSET + 1,
            "txn_date": dt.date(2025, 1, 11),
            "total_amt": 129,
            "payment_method": "card",
            "created_at": ts(11, 0),
            "updated_at": ts(11, 0),
        }
    ]
    rows[("fivetran_salesforce", "account")] = [
        {
            "id": f"001{t[:4]}{n:011d}",
            "name": f"Account {t} {n}",
            "type": "Customer",
            "industry": "Home",
            "billing_city": "X",
            "billing_state": "NY",
            "region_c": 1,
            "customer_id_c": (i + 1) * OFFSET + n,
            "tenant_c": t,
            "is_deleted": (t, n) == ("bu_south", 2),
            "created_date": ts(1, 0),
            "system_modstamp": ts(5, 0),
        }
        for i, t in enumerate(TENANTS)
        for n in (1, 2)
    ]
    rows[("fivetran_salesforce", "contact")] = [
        {
            "id": "003000000000001",
            "account_id": "001bu_n00000000001",
            "first_name": "a",
            "last_name": "b",
            "email": "f" * 64,
            "phone": "g" * 64,
            "title": "Owner",
            "is_deleted": False,
            "created_date": ts(1, 0),
            "system_modstamp": ts(5, 0),
        }
    ]
    rows[("fivetran_salesforce", "opportunity")] = [
        {
            "id": "006000000000001",
            "account_id": "001bu_n00000000001",
            "name": "Plan",
            "stage_name": "Closed Won",
            "amount": 249,
            "close_date": dt.date(2025, 1, 9),
            "is_closed": True,
            "is_won": True,
            "is_deleted": False,
            "created_date": ts(1, 0),
            "system_modstamp": ts(9, 0),
        }
    ]
    rows[("fivetran_servicetitan", "jobs")] = [
        {
            "id": 9001,
            "job_number": "ST-1",
            "fieldforce_job_id": OFFSET + 1,
            "customer_id": OFFSET + 1,
            "business_unit": "bu_north",
            "job_type": "HVAC",
            "job_status": "Completed",
            "created_on": ts(9, 12),
            "completed_on": ts(10, 12),
            "modified_on": ts(10, 12),
        }
    ]
    rows[("fivetran_servicetitan", "appointments")] = [
        {
            "id": 9101,
            "job_id": 9001,
            "technician_id": OFFSET + 1,
            "appointment_number": "A-1",
            "start_at": ts(10, 10),
            "end_at": ts(10, 12),
            "arrival_window_start": ts(10, 9),
            "arrival_window_end": ts(10, 11),
            "status": "Done",
            "modified_on": ts(10, 12),
        }
    ]
    rows[("fivetran_servicetitan", "timesheets")] = [
        {
            "id": 9201,
            "technician_id": OFFSET + 1,
            "job_id": 9001,
            "appointment_id": 9101,
            "activity": "Working",
            "clock_in": ts(10, 10),
            "clock_out": ts(10, 12),
            "modified_on": ts(10, 12),
        },
        {
            "id": 9202,
            "technician_id": OFFSET + 1,
            "job_id": 9001,
            "appointment_id": 9101,
            "activity": "Driving",
            "clock_in": ts(10, 9),
            "clock_out": ts(10, 10),
            "modified_on": ts(10, 12),
        },
    ]
    rows[("fivetran_telematics", "gps_events")] = [
        _gps("e1", 1, ts(10, 10), "f1"),
        _gps("e2", 1, ts(10, 11), "f2"),
        _gps("e2", 1, ts(10, 11), "f3"),  # duplicate delivery of e2
        _gps("e3", 2, ts(11, 10), "f4"),
    ]
    rows[("fivetran_sheets", "regional_targets")] = [
        {
            "_row": 1,
            "region_id": 1,
            "month": dt.date(2025, 1, 1),
            "revenue_target": 5000,
            "jobs_target": 20,
            "owner": "ops",
        },
        {
            "_row": 2,
            "region_id": 4,
            "month": dt.date(2025, 1, 1),
            "revenue_target": 3000,
            "jobs_target": 10,
            "owner": "ops",
        },
    ]
    for key, table_rows in rows.items():
        if key[0] == "fivetran_metadata":
            continue
        for row in table_rows:
            row.setdefault("_fivetran_synced", SYNC_1)
            row.setdefault("_fivetran_deleted", False)
    rows.update(_metadata_rows())
    return dict(rows)


def _invoice(job: Row) -> Row:
    return {
        "id": job["job_id"] + 5_000_000_000,
        "doc_number": f"INV-{job['job_id']}",
        "customer_ref": job["customer_id"],
        "job_id": job["job_id"],
        "tenant": TENANTS[job["job_id"] // OFFSET - 1],
        "txn_date": job["completed_at"].date(),
        "due_date": job["completed_at"].date() + dt.timedelta(days=30),
        "total_amt": job["total_amount_cents"] / 100,
        "balance": 0,
        "status": "voided" if job["_fivetran_deleted"] else "paid",
        "currency": "USD",
        "created_at": job["completed_at"],
        "updated_at": job["completed_at"],
        "_fivetran_synced": job["_fivetran_synced"],
        "_fivetran_deleted": False,
    }


def _gps(
    event_id: str, tech: int, at: dt.datetime, fivetran_id: str, synced: dt.datetime = SYNC_1
) -> Row:
    return {
        "event_id": event_id,
        "device_id": f"dev{tech}",
        "technician_id": OFFSET + tech,
        "latitude": 41.5,
        "longitude": -73.5,
        "speed_kph": 30.0,
        "heading_degrees": 90.0,
        "event_at": at,
        "received_at": at + dt.timedelta(seconds=5),
        "_fivetran_id": fivetran_id,
        "_fivetran_synced": synced,
        "_fivetran_deleted": False,
    }


def _metadata_rows() -> Tables:
    connectors = [
        ("jobs_bu_north", "postgres", "fivetran_postgres_bu_north", 15),
        ("jobs_bu_south", "postgres", "fivetran_postgres_bu_south", 15),
        ("salesforce", "salesforce", "fivetran_salesforce", 60),
        ("quickbooks", "quickbooks", "fivetran_quickbooks", 360),
        ("servicetitan", "servicetitan", "fivetran_servicetitan", 30),
        ("telematics", "webhooks", "fivetran_telematics", 60),
        ("sheets", "google_sheets", "fivetran_sheets", 1440),
    ]
    rows: Tables = defaultdict(list)
    for cid, ctype, schema, freq in connectors:
        rows[("fivetran_metadata", "connection")].append(
            {
                "connection_id": cid,
                "connection_name": cid,
                "connector_type": ctype,
                "destination_schema": schema,
                "sync_frequency": freq,
                "schedule_type": "auto",
                "paused": False,
                "created_at": ts(1, 0),
            }
        )
        for k, (event, data) in enumerate(
            [("sync_start", "{}"), ("sync_end", '{"status": "SUCCESSFUL"}')]
        ):
            rows[("fivetran_metadata", "log")].append(
                {
                    "id": f"{cid}-{k}",
                    "connection_id": cid,
                    "time_stamp": SYNC_1 + dt.timedelta(minutes=k),
                    "event": "INFO",
                    "message_event": event,
                    "message_data": data,
                }
            )
        rows[("fivetran_metadata", "incremental_mar")].append(
            {
                "connection_id": cid,
                "schema_name": schema,
                "table_name": "jobs",
                "measured_date": dt.date(2025, 1, 14),
                "free_type": "PAID",
                "incremental_rows": 1000,
                "updated_at": SYNC_1,
            }
        )
    return rows


def changes() -> Tables:
    """A second sync: upserts by primary key (and appends for GPS) on top of ``initial_rows``."""
    north, south = (catalog.landing_schema("jobs_db", t) for t in TENANTS)
    jobs_north = [
        _job("bu_north", 6, "completed", 13, 2, 1, 2, 34_500, SYNC_2),  # scheduled -> completed
        _job("bu_north", 3, "completed", 11, 1, 3, 3, 29_999, SYNC_2, deleted=True),  # deleted
        _job("bu_north", 8, "completed", 13, 1, 2, 1, 77_777, SYNC_2),  # new
    ]
    jobs_south = [
        # late row: an old update (day 11) that only lands now, synced just before SYNC_2
        _job(
            "bu_south",
            6,
            "completed",
            11,
            2,
            1,
            3,
            10_001,
            SYNC_2 - dt.timedelta(hours=20),
            updated=ts(11, 13),
        ),
        _job("bu_south", 3, "cancelled", 12, 2, 1, 2, 34_500, SYNC_2),  # in_progress -> cancelled
    ]
    invoices = [_invoice(j) for j in jobs_north + jobs_south if j["status"] == "completed"]
    for invoice in invoices:
        invoice["_fivetran_synced"] = SYNC_2
    return {
        (north, "jobs"): jobs_north,
        (south, "jobs"): jobs_south,
        ("fivetran_quickbooks", "invoice"): invoices,
        ("fivetran_telematics", "gps_events"): [
            _gps("e4", 2, ts(13, 10), "f5", SYNC_2),
            _gps("e4", 2, ts(13, 10), "f6", SYNC_2),
        ],
    }


def row_level_syncs() -> list[Tables]:
    """Two syncs after ``initial_rows``, late enough that its rows fall out of the lookback.

    The first (a week later) lands one completed job, so every incremental's newest version
    moves past the first sync's rows plus ``lookback_days``. The second is ``changes`` a day
    after that, its late row synced before the first (inside the lookback), plus what reaches
    the row-level incrementals through another table: a technician's skill changes (their
    jobs' enriched rows), a customer is soft-deleted and another hard-deleted, the Salesforce
    account of a customer with nothing else changed is soft-deleted, a rescheduled job moves to another day
    and a completed job's completion is corrected to another day (both old days must be
    rebuilt), a line item is corrected without its job (the job's totals), and a GPS ping
    lands for a day whose jobs did not change (the event window). ``duplicate_deliveries``
    adds duplicate rows on top.
    """
    north, south = (catalog.landing_schema("jobs_db", t) for t in TENANTS)
    delta = dict(changes())
    tenants = _tenant_rows()
    technician = dict(tenants[(north, "technicians")][0], skill_level="journeyman")
    customer = dict(tenants[(south, "customers")][0], deleted_at=ts(14, 20), updated_at=ts(14, 20))
    gone = dict(tenants[(south, "customers")][2], _fivetran_deleted=True)  # has no jobs
    for row in (technician, customer, gone):
        row.update(_fivetran_synced=SYNC_2, _fivetran_deleted=row.get("_fivetran_deleted", False))
    # a customer with no jobs, landed by the first sync (synced with the first sync's rows, so
    # out of the second's lookback): only their Salesforce account changes in the second
    quiet = dict(
        tenants[(north, "customers")][0],
        customer_id=OFFSET + 4,
        sf_account_id="001bu_n00000000004",
        _fivetran_synced=SYNC_1,
        _fivetran_deleted=False,
    )
    quiet_account = {
        "id": "001bu_n00000000004",
        "name": "Account bu_north 4",
        "type": "Customer",
        "industry": "Home",
        "billing_city": "X",
        "billing_state": "NY",
        "region_c": 1,
        "customer_id_c": OFFSET + 4,
        "tenant_c": "bu_north",
        "is_deleted": False,
        "created_date": ts(1, 0),
        "system_modstamp": ts(5, 0),
        "_fivetran_synced": SYNC_1,
        "_fivetran_deleted": False,
    }
    account = dict(
        quiet_account, is_deleted=True, system_modstamp=ts(14, 21), _fivetran_synced=SYNC_2
    )
    moved = [
        # rescheduled from day 12 to day 14
        _job("bu_south", 4, "rescheduled", 14, 2, 2, 4, 650_000, SYNC_2, updated=ts(14, 5)),
        # completion corrected: day 10 -> day 11
        _job("bu_north", 2, "completed", 11, 2, 2, 2, 34_501, SYNC_2),
    ]
    delta[(north, "jobs")] = delta[(north, "jobs")] + moved[1:]
    delta[(south, "jobs")] = delta[(south, "jobs")] + moved[:1]
    invoice = _invoice(moved[1])
    invoice["_fivetran_synced"] = SYNC_2
    delta[("fivetran_quickbooks", "invoice")] = [
        *delta[("fivetran_quickbooks", "invoice")],
        invoice,
    ]
    job_7 = OFFSET + 7
    delta[(north, "job_line_items")] = [
        {
            "line_item_id": job_7 * 10 + 1,
            "job_id": job_7,
            "item_type": "labor",
            "description": "labor, corrected",
            "quantity": 1,
            "unit_price_cents": 12_000,
            "amount_cents": 12_000,
            "created_at": ts(11, 12),
            "updated_at": ts(14, 21),
            "_fivetran_synced": SYNC_2,
            "_fivetran_deleted": False,
        }
    ]
    delta[(north, "technicians")] = [technician]
    delta[(south, "customers")] = [customer, gone]
    delta[("fivetran_salesforce", "account")] = [account]
    delta[("fivetran_telematics", "gps_events")] = [
        *delta[("fivetran_telematics", "gps_events")],
        _gps("e5", 2, ts(12, 15), "f7", SYNC_2),
    ]
    week = dt.timedelta(days=7)
    for rows in delta.values():
        for row in rows:
            row["_fivetran_synced"] += week
    tick_job = _job("bu_north", 9, "completed", 19, 2, 1, 1, 11_111, SYNC_1 + week)
    tick = {
        (north, "jobs"): [tick_job],
        ("fivetran_quickbooks", "invoice"): [_invoice(tick_job)],
        (north, "customers"): [quiet],
        ("fivetran_salesforce", "account"): [quiet_account],
    }
    late = 2 * OFFSET + 6
    for row in delta[(south, "jobs")] + delta[("fivetran_quickbooks", "invoice")]:
        if late in (row.get("job_id"), row.get("id")):
            row["_fivetran_synced"] = SYNC_1 + week - dt.timedelta(hours=18)
    return [tick, delta]


def duplicate_deliveries(tables: Tables) -> Tables:
    """``tables`` with a job (its cancellation) and a GPS ping delivered twice."""
    south = catalog.landing_schema("jobs_db", "bu_south")
    duplicated = {k: list(v) for k, v in tables.items()}
    (job,) = (r for r in duplicated[(south, "jobs")] if r["job_id"] == 2 * OFFSET + 3)
    duplicated[(south, "jobs")].append(dict(job))
    ping = duplicated[("fivetran_telematics", "gps_events")][-1]
    duplicated[("fivetran_telematics", "gps_events")].append(dict(ping, _fivetran_id="f8"))
    return duplicated


def merge(base: Tables, delta: Mapping[tuple[str, str], list[Row]]) -> Tables:
    """``base`` after applying ``delta`` the way a sync would (upsert by key, GPS appended)."""
    keys = {
        "jobs": "job_id",
        "invoice": "id",
        "customers": "customer_id",
        "technicians": "technician_id",
        "job_line_items": "line_item_id",
        "account": "id",
    }
    merged = {k: [dict(r) for r in v] for k, v in base.items()}
    for key, rows in delta.items():
        if key[1] == "gps_events":
            merged[key] = merged[key] + [dict(r) for r in rows]
            continue
        pk = keys[key[1]]
        by_key = {r[pk]: r for r in merged[key]}
        for row in rows:
            by_key[row[pk]] = dict(row)
        merged[key] = list(by_key.values())
    return merged


def ground_truth(tables: Tables) -> dict[str, dict[tuple, Any]]:
    """The business definitions, computed from raw rows (what the marts must equal)."""
    jobs = [
        r
        for (schema, table), rows in tables.items()
        if table == "jobs" and schema.startswith("fivetran_postgres_")
        for r in rows
        if not r["_fivetran_deleted"]
    ]
    revenue: dict[tuple, int] = defaultdict(int)
    per_status: dict[tuple, int] = defaultdict(int)
    technicians: dict[tuple, set] = defaultdict(set)
    for job in jobs:
        per_status[(job["scheduled_at"].date(), job["status"])] += 1
        if job["status"] == "completed":
            day = job["completed_at"].date()
            revenue[(day, job["region_id"])] += job["total_amount_cents"]
            technicians[(day,)].add(job["technician_id"])
    return {
        "revenue_cents": dict(revenue),
        "jobs_by_status": dict(per_status),
        "active_technicians": {k: len(v) for k, v in technicians.items()},
    }
