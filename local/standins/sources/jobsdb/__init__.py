"""The Jobs DB of one tenant: service types, technicians, customers, jobs and line items.

Jobs are laid out the way a dispatcher fills a board: each technician works five days a week,
gets one to five jobs per working day, one after another inside the shift (local time), with
travel in between. Everything else about a job (when it is dispatched, started, completed,
cancelled, rescheduled) comes from :mod:`standins.sources.timeline`, so the change stream
continues each job's story exactly where the history left it.

The tenant's fixed facts live in :mod:`.tenant`, technicians and customers in
:mod:`.population`, jobs and line items in :mod:`.board`; everything is re-exported here.
"""

from standins.sources.jobsdb.board import (
    DISCOUNT,
    FEE,
    LABOR,
    PART,
    STATUS,
    TRIP_FEE_CENTS,
    Jobs,
    LineItems,
    Notes,
    build_line_items,
    job_state_at,
    jobs,
    jobs_rows,
    jobs_table,
    line_items,
    line_items_table,
    soft_delete_customers,
)
from standins.sources.jobsdb.population import (
    OFF_DAY_PATTERNS,
    OFF_DAY_WEIGHTS,
    SHIFT_START_WEIGHTS,
    SHIFT_STARTS_MIN,
    Customers,
    Technicians,
    customers,
    customers_table,
    people,
    phone_numbers,
    technicians,
)
from standins.sources.jobsdb.tenant import (
    CATEGORIES,
    ServiceTypes,
    Tenant,
    service_types,
    tenant_facts,
)

__all__ = [
    "CATEGORIES",
    "DISCOUNT",
    "FEE",
    "LABOR",
    "OFF_DAY_PATTERNS",
    "OFF_DAY_WEIGHTS",
    "PART",
    "SHIFT_STARTS_MIN",
    "SHIFT_START_WEIGHTS",
    "STATUS",
    "TRIP_FEE_CENTS",
    "Customers",
    "Jobs",
    "LineItems",
    "Notes",
    "ServiceTypes",
    "Technicians",
    "Tenant",
    "build_line_items",
    "customers",
    "customers_table",
    "job_state_at",
    "jobs",
    "jobs_rows",
    "jobs_table",
    "line_items",
    "line_items_table",
    "people",
    "phone_numbers",
    "service_types",
    "soft_delete_customers",
    "technicians",
    "tenant_facts",
]
