"""DDL for the estate's PostgreSQL databases, derived from the catalog.

Tables are created bare, bulk-loaded, and only then given keys, indexes and triggers: building
an index once over loaded data is far cheaper than maintaining it row by row during COPY.
"""

from __future__ import annotations

import psycopg

from standins.sources import catalog

JOBS_INDEXES = (
    "create index on public.jobs (status, scheduled_at)",
    "create index on public.jobs (updated_at)",
    "create index on public.jobs (completed_at)",
    "create index on public.jobs (customer_id)",
    "create index on public.job_line_items (job_id)",
    "create index on public.job_line_items (updated_at)",
    "create index on public.customers (updated_at)",
)
JOBS_FOREIGN_KEYS = (
    "alter table public.jobs add foreign key (customer_id) references public.customers",
    "alter table public.jobs add foreign key (technician_id) references public.technicians",
    "alter table public.jobs add foreign key (service_type_id) references public.service_types",
    "alter table public.job_line_items add foreign key (job_id) references public.jobs on delete cascade",
)
SAAS_INDEXES = (
    'create index on salesforce."Account" ("SystemModstamp")',
    'create index on salesforce."Account" ("Customer_Id__c")',
    'create index on salesforce."Contact" ("SystemModstamp")',
    'create index on salesforce."Contact" ("AccountId")',
    'create index on salesforce."Opportunity" ("SystemModstamp")',
    # The change stream's picks (the stalest open opportunity, the oldest open case): without
    # these, each pick scans the table (130 ms at scale 1.0, ~70 picks a step).
    'create index on salesforce."Opportunity" ("SystemModstamp", "Id") where not "IsClosed" and not "IsDeleted"',
    'create index on salesforce."Case" ("SystemModstamp")',
    'create index on salesforce."Case" ("Id") where not "IsClosed" and not "IsDeleted"',
    "create index on quickbooks.invoice (updated_at)",
    "create index on quickbooks.invoice (tenant, job_id)",
    "create index on quickbooks.invoice (status)",
    "create index on quickbooks.invoice_line (updated_at)",
    "create index on quickbooks.payment (updated_at)",
    "create index on servicetitan.jobs (modified_on)",
    "create index on servicetitan.jobs (fieldforce_job_id)",
    "create index on servicetitan.appointments (modified_on)",
    "create index on servicetitan.appointments (job_id)",
    "create index on servicetitan.timesheets (modified_on)",
    "create index on servicetitan.timesheets (job_id)",
)

# The generator stamps every change it makes. Hand edits (psql, a test) that leave updated_at
# alone still get a fresh cursor value: the simulated clock, and never less than the old value
# plus 1 us, so that an incremental sync cannot miss them.
CDC_SETUP = """
create schema if not exists cdc;
create table if not exists cdc.deleted_rows (
    table_name text not null,
    pk jsonb not null,
    deleted_at timestamptz not null,
    txid bigint not null
);
create index if not exists deleted_rows_deleted_at on cdc.deleted_rows (deleted_at);
create table if not exists cdc.clock (id boolean primary key default true check (id), now timestamptz not null);
create or replace function cdc.sim_now() returns timestamptz language sql stable as
    $$ select coalesce((select now from cdc.clock), now()) $$;
create or replace function cdc.bump_updated_at() returns trigger language plpgsql as $$
begin
    if new.updated_at is not distinct from old.updated_at then
        new.updated_at := greatest(cdc.sim_now(), old.updated_at + interval '1 microsecond');
    end if;
    return new;
end $$;
"""

SAAS_SIM_SETUP = """
create schema if not exists sim;
create table if not exists sim.pending_payments (
    invoice_id bigint primary key,
    pay_at timestamptz not null,
    method text not null
);
create index if not exists pending_payments_pay_at on sim.pending_payments (pay_at);
"""


def qualified(system: catalog.System, table: catalog.Table) -> str:
    """``schema."Table"``: identifiers are always quoted (Salesforce keeps its CamelCase)."""
    return f'{system.schema}."{table.name}"'


def create_table(system: catalog.System, table: catalog.Table) -> str:
    """``create table`` without constraints (added after the bulk load)."""
    cols = ", ".join(f'"{c.name}" {c.type}' for c in table.columns)
    return f"create table {qualified(system, table)} ({cols})"


def primary_key(system: catalog.System, table: catalog.Table) -> str | None:
    """``alter table ... add primary key`` for tables that have one."""
    if not table.primary_key:
        return None
    cols = ", ".join(f'"{c}"' for c in table.primary_key)
    return f"alter table {qualified(system, table)} add primary key ({cols})"


def delete_capture(table: catalog.Table) -> str:
    """A statement-level trigger copying the keys of deleted rows into ``cdc.deleted_rows``."""
    pk = ", ".join(f"'{c}', old_rows.\"{c}\"" for c in table.primary_key)
    name = table.name
    return f"""
create or replace function cdc.capture_{name}_delete() returns trigger language plpgsql as $$
begin
    insert into cdc.deleted_rows (table_name, pk, deleted_at, txid)
    select '{name}', jsonb_build_object({pk}), cdc.sim_now(), txid_current() from old_rows;
    return null;
end $$;
create trigger capture_{name}_delete after delete on public.{name}
    referencing old table as old_rows for each statement execute function cdc.capture_{name}_delete();
create trigger bump_{name}_updated_at before update on public.{name}
    for each row execute function cdc.bump_updated_at();
"""


def finish_jobs_db(conn: psycopg.Connection) -> None:
    """Keys, indexes, foreign keys, CDC triggers on a freshly loaded tenant database."""
    for table in catalog.JOBS_DB.tables:
        pk = primary_key(catalog.JOBS_DB, table)
        if pk:
            conn.execute(pk)
    for statement in (*JOBS_INDEXES, *JOBS_FOREIGN_KEYS):
        conn.execute(statement)
    for table in catalog.JOBS_DB.tables:
        conn.execute(delete_capture(table))


def finish_saas(conn: psycopg.Connection) -> None:
    """Keys and cursor indexes on the freshly loaded SaaS database."""
    for system in (catalog.SALESFORCE, catalog.QUICKBOOKS, catalog.SERVICETITAN):
        for table in system.tables:
            pk = primary_key(system, table)
            if pk:
                conn.execute(pk)
    for statement in SAAS_INDEXES:
        conn.execute(statement)


def set_clock(conn: psycopg.Connection, now_iso: str) -> None:
    """Record the simulated time that triggers stamp on hand edits and deletes."""
    conn.execute(
        "insert into cdc.clock (id, now) values (true, %s) on conflict (id) do update set now = excluded.now",
        (now_iso,),
    )
