"""The change stream: what happens to the estate while the simulated clock runs.

Time advances on a fixed grid of 5-minute steps; each step draws from generators seeded by
(seed, step number, tenant, purpose) and stamps every change inside the step, so the same
clock position always yields the same changes. Per step:

* Jobs DB (per tenant): open jobs progress along their timeline (dispatched, in progress,
  completed) or get cancelled or rescheduled; new jobs are booked (some by new customers);
  late-arriving jobs appear already completed up to three days ago; a few amounts are
  corrected (a line item changed or added); a few jobs and line items are hard-deleted
  (captured in ``cdc.deleted_rows``); a few customers are soft-deleted (``deleted_at``).
* QuickBooks: an invoice for every newly completed job, payments as they fall due, overdue
  marking, voiding of invoices whose job was deleted, totals following corrections.
* ServiceTitan: mirrored jobs follow their FieldForce job (status, appointments, timesheets).
* Salesforce: accounts and contacts for new customers, soft deletes (``IsDeleted``), new and
  closed cases, opportunities moving through stages.
* Telematics: the hourly batch is written when its hour has passed (late and duplicate
  deliveries included). Sheets: the targets are revised once per simulated day.

Each system's part lives in its own module (``jobsdb`` and ``bookings`` for the Jobs DB, then
``quickbooks``, ``servicetitan``, ``salesforce``, ``telematics``, ``sheets``); ``common``
holds the step grid and id sequences they share, and this module drives one step after another.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import psycopg

from standins.sources import schema
from standins.sources.bulkload import connect
from standins.sources.changes import (
    bookings,
    jobsdb,
    quickbooks,
    salesforce,
    servicetitan,
    sheets,
    telematics,
)
from standins.sources.changes.common import STEP_US, Effects, Static, statics, ts
from standins.sources.config import start_us, volumes
from standins.sources.generator import SAAS_DB, Paths, jobs_db_name
from standins.sources.postgres import PostgresCluster
from standins.sources.rand import stream
from standins.sources.state import EstateState

__all__ = ["STEP_US", "Effects", "Static", "advance", "apply_step", "statics", "ts"]


def advance(
    cluster: PostgresCluster,
    paths: Paths,
    state: EstateState,
    target_us: int,
    save: Callable[[], None],
) -> None:
    """Apply every whole grid step up to ``target_us``, then set the clock to it.

    The state is saved after each step, so an interrupted advance resumes cleanly.

    Args:
        cluster: The running cluster holding the Jobs DBs and the SaaS database.
        paths: Where the file-based systems (telematics, sheets) live.
        state: The estate's persistent state; its clock and counters move forward.
        target_us: The simulated moment to reach (microseconds since 1970 UTC).
        save: Persists ``state``; called after every applied step.
    """
    while state.applied_until_us + STEP_US <= target_us:
        t0 = state.applied_until_us
        apply_step(cluster, paths, state, t0, t0 + STEP_US)
        state.applied_until_us = t0 + STEP_US
        state.clock_us = max(state.clock_us, state.applied_until_us)
        save()
    state.clock_us = max(state.clock_us, target_us)


def apply_step(
    cluster: PostgresCluster, paths: Paths, state: EstateState, t0: int, t1: int
) -> None:
    """Apply the changes of the grid step ``[t0, t1)``.

    Each tenant's Jobs DB changes are committed first; what they imply for the SaaS systems
    follows in the SaaS transaction, which commits once for the whole step.
    """
    seed, tenants = state.seed, tuple(state.tenants)
    vol = volumes(state.scale, len(tenants))
    step_no = (t0 - start_us()) // STEP_US
    st = statics(seed, state.scale, tenants)
    with connect(cluster.dsn(SAAS_DB)) as saas:
        for name in tenants:
            rng = stream(seed, "step", step_no, st[name].tenant.index)
            with connect(cluster.dsn(jobs_db_name(name))) as conn:
                schema.set_clock(conn, ts(t0).isoformat())
                fx = Effects()
                jobsdb.progress_jobs(conn, seed, st[name], t0, t1, fx)
                bookings.book_jobs(conn, rng, state, st[name], vol, t0, t1, fx, late=False)
                bookings.book_jobs(conn, rng, state, st[name], vol, t0, t1, fx, late=True)
                jobsdb.correct_amounts(conn, saas, rng, state, st[name], vol, t0, t1, fx)
                jobsdb.hard_delete(conn, rng, st[name], vol, t0, t1, fx)
                jobsdb.soft_delete(conn, rng, vol, t0, t1, fx)
                conn.commit()
                _apply_saas_effects(conn, saas, rng, state, st[name], t0, t1, fx)
        quickbooks.payments(saas, state, t0, t1)
        salesforce.activity(saas, stream(seed, "step", step_no, "salesforce"), state, vol, t0, t1)
        saas.commit()
    telematics.write_batches(paths, state, t1)
    sheets.revise_targets(paths, state, vol, t1)


def _apply_saas_effects(
    conn: psycopg.Connection,
    saas: psycopg.Connection,
    rng: np.random.Generator,
    state: EstateState,
    st: Static,
    t0: int,
    t1: int,
    fx: Effects,
) -> None:
    tenant = st.tenant.name
    if fx.completed:
        quickbooks.raise_invoices(conn, saas, state, tenant, fx.completed, t0, t1)
    for job_id, at in fx.retotalled:
        quickbooks.retotal_invoice(conn, saas, tenant, job_id, at)
    for job_id, at in fx.voided:
        quickbooks.void_invoice(saas, tenant, job_id, at)
        servicetitan.cancel_job(saas, job_id, at)
    if fx.mirrored:
        servicetitan.mirror_jobs(conn, saas, state, tenant, sorted(set(fx.mirrored)), t0, t1)
    if fx.new_customers:
        salesforce.new_accounts(conn, saas, rng, state, st, fx.new_customers, t0, t1)
    for cid, at in fx.soft_deleted:
        salesforce.soft_delete_account(saas, cid, at, t1)
