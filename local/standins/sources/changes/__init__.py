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

import contextlib
from collections.abc import Callable

import numpy as np
import psycopg
from psycopg import sql

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

__all__ = [
    "STEP_US",
    "Effects",
    "Static",
    "advance",
    "apply_step",
    "finish_interrupted",
    "statics",
    "ts",
]


def advance(
    cluster: PostgresCluster,
    paths: Paths,
    state: EstateState,
    target_us: int,
    save: Callable[[], None],
) -> None:
    """Apply every whole grid step up to ``target_us``, then set the clock to it.

    Each step is all or nothing against the saved state, so a process killed at any point
    (``kill -9`` included) resumes cleanly: see :func:`apply_step`. A step a killed process
    left prepared is finished first (:func:`finish_interrupted`).

    Args:
        cluster: The running cluster holding the Jobs DBs and the SaaS database.
        paths: Where the file-based systems (telematics, sheets) live.
        state: The estate's persistent state; its clock and counters move forward.
        target_us: The simulated moment to reach (microseconds since 1970 UTC).
        save: Persists ``state``; called after every applied step.
    """
    finish_interrupted(cluster, state.applied_until_us)
    while state.applied_until_us + STEP_US <= target_us:
        t0 = state.applied_until_us

        def record(t1: int = t0 + STEP_US) -> None:
            state.applied_until_us = t1
            state.clock_us = max(state.clock_us, t1)
            save()

        apply_step(cluster, paths, state, t0, t0 + STEP_US, record)
    state.clock_us = max(state.clock_us, target_us)


_GID_PREFIX = "fieldforce-step"
"""Prepared transactions of a step are named ``fieldforce-step:<t1>:<database>``."""


def finish_interrupted(cluster: PostgresCluster, applied_until_us: int | None) -> None:
    """Commit or roll back the prepared transactions of a step whose process was killed.

    A step whose end the saved state records (``t1 <= applied_until_us``) was applied: its
    prepared transactions are committed. Any other was not: they are rolled back, and the step
    runs again from the same saved counters. ``None`` (a new estate replaces the data) rolls
    everything back. Called with the estate lock held, so no live step is touched.
    """
    with connect(cluster.dsn("postgres"), autocommit=True) as conn:
        left = conn.execute(
            "select gid, database from pg_prepared_xacts where gid like %s",
            (f"{_GID_PREFIX}:%",),
        ).fetchall()
    for gid, database in left:
        t1 = int(gid.split(":")[1])
        applied = applied_until_us is not None and t1 <= applied_until_us
        action = sql.SQL("commit prepared" if applied else "rollback prepared")
        with connect(cluster.dsn(database), autocommit=True) as conn:
            conn.execute(sql.SQL("{} {}").format(action, sql.Literal(gid)))


def apply_step(
    cluster: PostgresCluster,
    paths: Paths,
    state: EstateState,
    t0: int,
    t1: int,
    record: Callable[[], None],
) -> None:
    """Apply the changes of the grid step ``[t0, t1)``, all or nothing against ``record``.

    Every database the step writes (each tenant's Jobs DB, then the SaaS database) is written
    in one two-phase transaction. They are all prepared, the step's files are written (each
    atomically, named by the counters the state saves), then ``record`` saves the state, then
    they are committed. Killed before ``record``: the step's transactions are rolled back and
    it runs again from the same counters, writing the same files. Killed after: they are
    committed. Without this a kill between one database's commit and the state's save left
    rows the replay inserted again (a duplicate key: an estate that could not resume).
    """
    seed, tenants = state.seed, tuple(state.tenants)
    vol = volumes(state.scale, len(tenants))
    step_no = (t0 - start_us()) // STEP_US
    st = statics(seed, state.scale, tenants)
    with contextlib.ExitStack() as stack:
        saas = _step_connection(stack, cluster, SAAS_DB, t1)
        written = [saas]
        for name in tenants:
            rng = stream(seed, "step", step_no, st[name].tenant.index)
            conn = _step_connection(stack, cluster, jobs_db_name(name), t1)
            written.append(conn)
            schema.set_clock(conn, ts(t0).isoformat())
            fx = Effects()
            jobsdb.progress_jobs(conn, seed, st[name], t0, t1, fx)
            bookings.book_jobs(conn, rng, state, st[name], vol, t0, t1, fx, late=False)
            bookings.book_jobs(conn, rng, state, st[name], vol, t0, t1, fx, late=True)
            jobsdb.correct_amounts(conn, saas, rng, state, st[name], vol, t0, t1, fx)
            jobsdb.hard_delete(conn, rng, st[name], vol, t0, t1, fx)
            jobsdb.soft_delete(conn, rng, vol, t0, t1, fx)
            _apply_saas_effects(conn, saas, rng, state, st[name], t0, t1, fx)
        quickbooks.payments(saas, state, t0, t1)
        salesforce.activity(saas, stream(seed, "step", step_no, "salesforce"), state, vol, t0, t1)
        for conn in written:
            conn.tpc_prepare()
        telematics.write_batches(paths, state, t1)
        sheets.revise_targets(paths, state, vol, t1)
        record()
        for conn in written:
            conn.tpc_commit()


def _step_connection(
    stack: contextlib.ExitStack, cluster: PostgresCluster, database: str, t1: int
) -> psycopg.Connection:
    """A connection in the step's two-phase transaction on ``database``.

    Closed with the stack; a transaction not yet prepared dies with its connection, and one
    prepared but not committed is left to :func:`finish_interrupted`, which the next advance
    runs under the estate lock.
    """
    conn = connect(cluster.dsn(database))
    stack.callback(conn.close)
    conn.tpc_begin(f"{_GID_PREFIX}:{t1}:{database}")
    return conn


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
