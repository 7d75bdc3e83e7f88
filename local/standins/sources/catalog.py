"""The FieldForce source estate's catalog: every system, table, column, key and cursor.

One cohesive declaration, kept in one module on purpose: the systems and their tables read
top to bottom as the contract, with the landing rules that follow from it at the end.

This is the one contract shared by the generator (which writes these tables), the local
Fivetran service (which reads them incrementally and lands them) and, through the landing
rules at the bottom, the dbt sources. Change a table here and all three follow.

Storage, chosen so that a sync can read each system the way Fivetran reads the real one:

* Jobs DB: one PostgreSQL database per business unit (``jobs_<tenant>``), schema ``public``.
  Ids are offset per tenant (``tenant_index * ID_OFFSET``) so they are unique company-wide,
  the way sharded OLTP estates allocate id ranges. Hard deletes are captured by a trigger into
  ``cdc.deleted_rows`` (our stand-in for logical replication), never synced as a table.
* Salesforce, QuickBooks, ServiceTitan: one PostgreSQL database ``saas`` with one schema per
  system. Salesforce keeps its API names (``"Id"``, ``"SystemModstamp"``, quoted CamelCase).
* GPS telematics: append-only Parquet batches ``telematics/batch_<seq:08d>.parquet``; a batch
  is immutable once written, and the cursor is the batch sequence number.
* Google Sheets: CSV files ``sheets/<table>.csv`` rewritten whole; synced by full replace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

ID_OFFSET = 100_000_000
"""Per-tenant id range: tenant ``i`` (1-based) owns ids ``i * ID_OFFSET + 1 ...``."""

DEFAULT_TENANTS = ("bu_north", "bu_south")
EXTRA_TENANT_NAMES = ("bu_east", "bu_west", "bu_central", "bu_mountain", "bu_coastal", "bu_metro")

Storage = Literal["postgres_tenant", "postgres_saas", "parquet_batches", "csv_full"]
SyncMode = Literal["incremental", "append", "full_replace"]


@dataclass(frozen=True)
class Region:
    """A sales/operations region; every tenant serves a fixed subset of them."""

    region_id: int
    region_name: str
    time_zone: str
    state_codes: tuple[str, ...]
    center_lat: float
    center_lon: float


REGIONS: tuple[Region, ...] = (
    Region(1, "Northeast", "America/New_York", ("NY", "MA", "CT", "NJ"), 41.5, -73.5),
    Region(2, "Southeast", "America/New_York", ("GA", "FL", "NC", "SC"), 32.0, -82.5),
    Region(3, "Midwest", "America/Chicago", ("IL", "OH", "MI", "WI"), 41.9, -87.6),
    Region(4, "South Central", "America/Chicago", ("TX", "OK", "LA"), 30.3, -97.7),
    Region(5, "Mountain", "America/Denver", ("CO", "UT", "ID"), 39.7, -105.0),
    Region(6, "Southwest", "America/Phoenix", ("AZ", "NM", "NV"), 33.4, -112.0),
    Region(7, "Pacific Northwest", "America/Los_Angeles", ("WA", "OR"), 47.6, -122.3),
    Region(8, "California", "America/Los_Angeles", ("CA",), 34.0, -118.2),
)

SERVICE_CATALOG: tuple[tuple[str, str, int, int], ...] = (
    # (name, category, base_price_cents, estimated_duration_minutes)
    ("AC Tune-Up", "HVAC", 12_900, 60),
    ("AC Repair", "HVAC", 34_500, 120),
    ("Furnace Repair", "HVAC", 29_900, 120),
    ("Heat Pump Install", "HVAC", 650_000, 480),
    ("Duct Cleaning", "HVAC", 39_900, 180),
    ("Drain Cleaning", "Plumbing", 18_900, 60),
    ("Water Heater Install", "Plumbing", 185_000, 240),
    ("Leak Repair", "Plumbing", 24_500, 90),
    ("Sewer Line Inspection", "Plumbing", 29_500, 90),
    ("Panel Upgrade", "Electrical", 240_000, 360),
    ("Outlet Install", "Electrical", 14_900, 45),
    ("EV Charger Install", "Electrical", 120_000, 240),
    ("Lighting Repair", "Electrical", 16_500, 60),
    ("Refrigerator Repair", "Appliance Repair", 22_900, 90),
    ("Washer Repair", "Appliance Repair", 19_900, 75),
    ("Termite Treatment", "Pest Control", 89_900, 180),
    ("General Pest Service", "Pest Control", 11_900, 45),
    ("Annual Maintenance Plan", "Maintenance", 24_900, 60),
)

JOB_STATUSES = ("scheduled", "dispatched", "in_progress", "completed", "cancelled", "rescheduled")
JOB_PRIORITIES = ("low", "medium", "high")
LINE_ITEM_TYPES = ("labor", "part", "fee", "discount")
SKILL_LEVELS = ("apprentice", "journeyman", "master")


@dataclass(frozen=True)
class Column:
    """One source column; ``type`` is a PostgreSQL type name (the sync maps it)."""

    name: str
    type: str
    pii: bool = False


@dataclass(frozen=True)
class Table:
    """One source table and how a sync reads it."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    cursor: str | None
    sync_mode: SyncMode = "incremental"
    soft_delete_column: str | None = None
    hard_deletes: bool = False

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class System:
    """A source system of the estate and where its tables live."""

    name: str
    storage: Storage
    schema: str
    tables: tuple[Table, ...] = field(default_factory=tuple)

    def table(self, name: str) -> Table:
        """The table called ``name``."""
        return next(t for t in self.tables if t.name == name)


def _cols(spec: str) -> tuple[Column, ...]:
    """Parse ``"name type, name type pii"`` into columns.

    Commas inside parentheses belong to the type (``numeric(14,2)``); a name may hold spaces
    (Google Sheets headers), so the type is the last word, or ``double precision``.
    """
    cols = []
    for part in re.split(r",(?![^(]*\))", spec):
        words = part.split()
        pii = words[-1] == "pii"
        if pii:
            words = words[:-1]
        type_words = 2 if words[-2:] == ["double", "precision"] else 1
        cols.append(Column(" ".join(words[:-type_words]), " ".join(words[-type_words:]), pii))
    return tuple(cols)


JOBS_DB = System(
    name="jobs_db",
    storage="postgres_tenant",
    schema="public",
    tables=(
        Table(
            "service_types",
            _cols(
                "service_type_id bigint, service_name text, category text, base_price_cents bigint,"
                " estimated_duration_minutes integer, is_active boolean,"
                " created_at timestamptz, updated_at timestamptz"
            ),
            ("service_type_id",),
            "updated_at",
        ),
        Table(
            "customers",
            _cols(
                "customer_id bigint, first_name text, last_name text, email text pii,"
                " phone text pii, address_line1 text pii, city text, state text, postal_code text,"
                " region_id integer, time_zone text, customer_type text, sf_account_id text,"
                " deleted_at timestamptz, created_at timestamptz, updated_at timestamptz"
            ),
            ("customer_id",),
            "updated_at",
            soft_delete_column="deleted_at",
        ),
        Table(
            "technicians",
            _cols(
                "technician_id bigint, first_name text, last_name text, email text pii,"
                " phone text pii, region_id integer, home_time_zone text, skill_level text,"
                " hire_date date, shift_start time, shift_end time, is_active boolean,"
                " created_at timestamptz, updated_at timestamptz"
            ),
            ("technician_id",),
            "updated_at",
        ),
        Table(
            "jobs",
            _cols(
                "job_id bigint, customer_id bigint, technician_id bigint, service_type_id bigint,"
                " region_id integer, status text, priority text, scheduled_at timestamptz,"
                " started_at timestamptz, completed_at timestamptz, cancelled_at timestamptz,"
                " total_amount_cents bigint, notes text, created_at timestamptz,"
                " updated_at timestamptz"
            ),
            ("job_id",),
            "updated_at",
            hard_deletes=True,
        ),
        Table(
            "job_line_items",
            _cols(
                "line_item_id bigint, job_id bigint, item_type text, description text,"
                " quantity numeric(10,2), unit_price_cents bigint, amount_cents bigint,"
                " created_at timestamptz, updated_at timestamptz"
            ),
            ("line_item_id",),
            "updated_at",
            hard_deletes=True,
        ),
    ),
)

SALESFORCE = System(
    name="salesforce",
    storage="postgres_saas",
    schema="salesforce",
    tables=(
        Table(
            "Account",
            _cols(
                "Id varchar(18), Name text, Type text, Industry text, BillingCity text,"
                " BillingState text, Region__c integer, Customer_Id__c bigint, Tenant__c text,"
                " IsDeleted boolean, CreatedDate timestamptz, SystemModstamp timestamptz"
            ),
            ("Id",),
            "SystemModstamp",
            soft_delete_column="IsDeleted",
        ),
        Table(
            "Contact",
            _cols(
                "Id varchar(18), AccountId varchar(18), FirstName text, LastName text,"
                " Email text pii, Phone text pii, Title text, IsDeleted boolean,"
                " CreatedDate timestamptz, SystemModstamp timestamptz"
            ),
            ("Id",),
            "SystemModstamp",
            soft_delete_column="IsDeleted",
        ),
        Table(
            "Opportunity",
            _cols(
                "Id varchar(18), AccountId varchar(18), Name text, StageName text,"
                " Amount numeric(14,2), CloseDate date, IsClosed boolean, IsWon boolean,"
                " IsDeleted boolean, CreatedDate timestamptz, SystemModstamp timestamptz"
            ),
            ("Id",),
            "SystemModstamp",
            soft_delete_column="IsDeleted",
        ),
        Table(
            "Case",
            _cols(
                "Id varchar(18), AccountId varchar(18), ContactId varchar(18), Subject text,"
                " Status text, Priority text, Origin text, IsClosed boolean, ClosedDate timestamptz,"
                " IsDeleted boolean, CreatedDate timestamptz, SystemModstamp timestamptz"
            ),
            ("Id",),
            "SystemModstamp",
            soft_delete_column="IsDeleted",
        ),
    ),
)

QUICKBOOKS = System(
    name="quickbooks",
    storage="postgres_saas",
    schema="quickbooks",
    tables=(
        Table(
            "invoice",
            _cols(
                "id bigint, doc_number text, customer_ref bigint, job_id bigint, tenant text,"
                " txn_date date, due_date date, total_amt numeric(14,2), balance numeric(14,2),"
                " status text, currency text, created_at timestamptz, updated_at timestamptz"
            ),
            ("id",),
            "updated_at",
        ),
        Table(
            "invoice_line",
            _cols(
                "invoice_id bigint, line_num integer, description text, item_type text,"
                " amount numeric(14,2), updated_at timestamptz"
            ),
            ("invoice_id", "line_num"),
            "updated_at",
        ),
        Table(
            "payment",
            _cols(
                "id bigint, invoice_id bigint, customer_ref bigint, txn_date date,"
                " total_amt numeric(14,2), payment_method text, created_at timestamptz,"
                " updated_at timestamptz"
            ),
            ("id",),
            "updated_at",
        ),
    ),
)

SERVICETITAN = System(
    name="servicetitan",
    storage="postgres_saas",
    schema="servicetitan",
    tables=(
        Table(
            "jobs",
            _cols(
                "id bigint, job_number text, fieldforce_job_id bigint, customer_id bigint,"
                " business_unit text, job_type text, job_status text, created_on timestamptz,"
                " completed_on timestamptz, modified_on timestamptz"
            ),
            ("id",),
            "modified_on",
        ),
        Table(
            "appointments",
            _cols(
                "id bigint, job_id bigint, technician_id bigint, appointment_number text,"
                " start_at timestamptz, end_at timestamptz, arrival_window_start timestamptz,"
                " arrival_window_end timestamptz, status text, modified_on timestamptz"
            ),
            ("id",),
            "modified_on",
        ),
        Table(
            "timesheets",
            _cols(
                "id bigint, technician_id bigint, job_id bigint, appointment_id bigint,"
                " activity text, clock_in timestamptz, clock_out timestamptz,"
                " modified_on timestamptz"
            ),
            ("id",),
            "modified_on",
        ),
    ),
)

TELEMATICS = System(
    name="telematics",
    storage="parquet_batches",
    schema="telematics",
    tables=(
        Table(
            "gps_events",
            _cols(
                "event_id text, device_id text, technician_id bigint, latitude double precision,"
                " longitude double precision, speed_kph double precision,"
                " heading_degrees double precision, event_at timestamptz, received_at timestamptz"
            ),
            (),
            "received_at",
            sync_mode="append",
        ),
    ),
)

SHEETS = System(
    name="sheets",
    storage="csv_full",
    schema="sheets",
    tables=(
        Table(
            "regional_targets",
            _cols(
                "Region ID integer, Month date, Revenue Target numeric(14,2),"
                " Jobs Target integer, Owner text"
            ),
            (),
            None,
            sync_mode="full_replace",
        ),
    ),
)

SYSTEMS: tuple[System, ...] = (JOBS_DB, SALESFORCE, QUICKBOOKS, SERVICETITAN, TELEMATICS, SHEETS)


def system(name: str) -> System:
    """The system called ``name``."""
    return next(s for s in SYSTEMS if s.name == name)


# ---------------------------------------------------------------------------------------------
# Landing rules (what a Fivetran sync writes into the warehouse, and so what dbt reads)
# ---------------------------------------------------------------------------------------------

_CAMEL_1 = re.compile(r"(.)([A-Z][a-z]+)")
_CAMEL_2 = re.compile(r"([a-z0-9])([A-Z])")


def destination_name(source_name: str) -> str:
    """Fivetran's destination naming: snake_case, lowercase, non-alphanumerics to ``_``.

    ``SystemModstamp`` -> ``system_modstamp``, ``Region__c`` -> ``region_c``,
    ``Revenue Target`` -> ``revenue_target``, ``Case`` -> ``case``.
    """
    name = _CAMEL_2.sub(r"\1_\2", _CAMEL_1.sub(r"\1_\2", source_name))
    name = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").lower()
    return re.sub(r"_+", "_", name)


def landing_schema(system_name: str, tenant: str | None = None) -> str:
    """The raw schema a connector lands in: ``fivetran_<system>`` (Jobs DB: one per tenant)."""
    if system_name == "jobs_db":
        if tenant is None:
            raise ValueError("the Jobs DB lands one schema per tenant: pass tenant=")
        return f"fivetran_postgres_{tenant}"
    return f"fivetran_{system_name}"
