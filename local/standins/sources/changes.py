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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from standins.sources import arrowcols as ac
from standins.sources import (
    catalog,
    jobsdb,
    quickbooks,
    schema,
    servicetitan,
    sheets,
    telematics,
    vocab,
)
from standins.sources.bulkload import connect, copy_table
from standins.sources.config import (
    DAY_US,
    EPOCH_US,
    HOUR_US,
    MINUTE_US,
    STEP_MINUTES,
    Volumes,
    from_us,
    volumes,
)
from standins.sources.generator import SAAS_DB, Paths, jobs_db_name
from standins.sources.postgres import PostgresCluster
from standins.sources.rand import choice, stream, uniform
from standins.sources.state import EstateState
from standins.sources.timeline import fate, local_to_utc_us, plan

STEP_US = STEP_MINUTES * MINUTE_US
S = jobsdb.STATUS
RANK = np.array(
    [0, 1, 2, 3, 3, 0.5]
)  # by catalog.JOB_STATUSES; cancelled is terminal like completed
OPEN_STATUSES = ("scheduled", "rescheduled", "dispatched", "in_progress")
LINE_ITEM_MAX = "select max(line_item_id) from public.job_line_items"
MIN_EVENTS_PER_STEP = 0.05
"""Floor on the rate of rare events so a tiny test estate still sees every kind of change."""

# Daily rates as shares of the tenant's jobs per day (or customers for soft deletes).
LATE_JOB_SHARE = 0.01
CORRECTION_SHARE = 0.02
HARD_DELETE_SHARE = 0.002
LINE_DELETE_SHARE = 0.003
SOFT_DELETE_SHARE = 0.0005
NEW_CUSTOMER_SHARE = 0.15


@dataclass(frozen=True)
class Static:
    """A tenant's never-changing facts, rebuilt from the seed."""

    tenant: jobsdb.Tenant
    services: jobsdb.ServiceTypes
    techs: jobsdb.Technicians


@lru_cache(maxsize=4)
def statics(seed: int, scale: float, tenants: tuple[str, ...]) -> dict[str, Static]:
    """Service catalogs and technicians of every tenant (cached per process)."""
    vol = volumes(scale, len(tenants))
    out = {}
    for name in tenants:
        tenant = jobsdb.tenant_facts(seed, name, tenants)
        out[name] = Static(
            tenant, jobsdb.service_types(seed, tenant)[0], jobsdb.technicians(seed, tenant, vol)[0]
        )
    return out


@dataclass
class Effects:
    """What one tenant's Jobs DB step implies for the SaaS systems."""

    completed: list[int] = field(default_factory=list)
    voided: list[tuple[int, int]] = field(default_factory=list)  # (job_id, at)
    retotalled: list[tuple[int, int]] = field(default_factory=list)
    mirrored: list[int] = field(default_factory=list)
    new_customers: list[int] = field(default_factory=list)
    soft_deleted: list[tuple[int, int]] = field(default_factory=list)


def ts(us: int | np.integer) -> datetime:
    """A timestamp parameter for psycopg."""
    return from_us(int(us))


def _us(column: str) -> str:
    return f"(extract(epoch from {column}) * 1000000)::bigint"


def _rate(per_day: float, share: float) -> float:
    return max(per_day * share * STEP_US / DAY_US, MIN_EVENTS_PER_STEP)


def advance(
    cluster: PostgresCluster,
    paths: Paths,
    state: EstateState,
    target_us: int,
    save: Callable[[], None],
) -> None:
    """Apply every whole grid step up to ``target_us``, then set the clock to it.

    The state is saved after each step, so an interrupted advance resumes cleanly.
    """
    while state.applied_until_us + STEP_US <= target_us:
        t0 = state.applied_until_us
        apply_step(cluster, paths, state, t0, t0 + STEP_US)
        state.applied_until_us = t0 + STEP_US
        state.clock_us = max(state.clock_us, state.applied_until_us)
        save()
    state.clock_us = max(state.clock_us, target_us)


def _counter(state: EstateState, key: str, conn: psycopg.Connection, query: str) -> int:
    """The last id handed out in sequence ``key``, seeded once from the data (``query``)."""
    if key not in state.counters:
        state.counters[key] = int(conn.execute(query).fetchone()[0] or 0)
    return state.counters[key]


def _next_id(state: EstateState, key: str, conn: psycopg.Connection, query: str, count: int) -> int:
    """Reserve ``count`` ids of sequence ``key`` and return the first (ids are never reused)."""
    first = _counter(state, key, conn, query) + 1
    state.counters[key] += count
    return first


def apply_step(
    cluster: PostgresCluster, paths: Paths, state: EstateState, t0: int, t1: int
) -> None:
    """Apply the changes of the grid step ``[t0, t1)``."""
    seed, tenants = state.seed, tuple(state.tenants)
    vol = volumes(state.scale, len(tenants))
    step_no = (t0 - EPOCH_US) // STEP_US
    st = statics(seed, state.scale, tenants)
    with connect(cluster.dsn(SAAS_DB)) as saas:
        for name in tenants:
            rng = stream(seed, "step", step_no, st[name].tenant.index)
            with connect(cluster.dsn(jobs_db_name(name))) as conn:
                schema.set_clock(conn, ts(t0).isoformat())
                fx = Effects()
                _progress_jobs(conn, seed, st[name], t0, t1, fx)
                _book_jobs(conn, rng, state, st[name], vol, t0, t1, fx, late=False)
                _book_jobs(conn, rng, state, st[name], vol, t0, t1, fx, late=True)
                _correct_amounts(conn, saas, rng, state, st[name], vol, t0, t1, fx)
                _hard_delete(conn, rng, st[name], vol, t0, t1, fx)
                _soft_delete(conn, rng, vol, t0, t1, fx)
                conn.commit()
                _apply_saas_effects(conn, saas, rng, state, st[name], t0, t1, fx)
        _payments(saas, state, t0, t1)
        _salesforce_activity(saas, stream(seed, "step", step_no, "salesforce"), state, vol, t0, t1)
        saas.commit()
    _telematics(paths, state, t1)
    _sheets(paths, state, vol, t1)


# ---------------------------------------------------------------------------------------------
# Jobs DB
# ---------------------------------------------------------------------------------------------


def _progress_jobs(
    conn: psycopg.Connection, seed: int, st: Static, t0: int, t1: int, fx: Effects
) -> None:
    rows = conn.execute(
        f"select job_id, status, {_us('created_at')}, {_us('scheduled_at')}, service_type_id from public.jobs"
        " where status = any(%s) order by job_id",
        (list(OPEN_STATUSES),),
    ).fetchall()
    if not rows:
        return
    ids, status_s, created, sched, svc = (np.array(c) for c in zip(*rows, strict=True))
    status = np.array([S[s] for s in status_s])
    est = st.services.duration_min[svc - st.services.ids[0]]
    tl = plan(seed, ids, sched, est)
    fa = fate(seed, ids, created, tl["dispatch"])
    resched = (status == S["scheduled"]) & fa["reschedule"] & (fa["at"] < t1)
    new_sched = np.where(resched, sched + fa["shift_days"] * DAY_US, sched)
    tl = plan(seed, ids, new_sched, est)
    was_resched = status == S["rescheduled"]
    fa["reschedule"] = resched | was_resched
    fa["at"] = np.where(was_resched, np.minimum(fa["at"], t0), fa["at"])
    fa["cancel"] = fa["cancel"] & ~was_resched
    new_status, started, completed, cancelled, updated = jobsdb.job_state_at(
        t1 - 1, created, tl, fa
    )
    changed = (RANK[new_status] > RANK[status]) | resched
    if not changed.any():
        return
    idx = np.flatnonzero(changed)
    stamp = np.clip(updated[idx], t0, t1 - 1)
    conn.cursor().executemany(
        "update public.jobs set status = %s, scheduled_at = %s, started_at = %s, completed_at = %s,"
        " cancelled_at = %s, updated_at = %s where job_id = %s",
        [
            (
                catalog.JOB_STATUSES[new_status[i]],
                ts(new_sched[i]),
                ts(started[i]) if started[i] >= 0 else None,
                ts(completed[i]) if completed[i] >= 0 else None,
                ts(cancelled[i]) if cancelled[i] >= 0 else None,
                ts(s),
                int(ids[i]),
            )
            for i, s in zip(idx, stamp, strict=True)
        ],
    )
    done = idx[(new_status[idx] == S["completed"]) & (status[idx] != S["completed"])]
    fx.completed.extend(int(j) for j in ids[done])
    fx.mirrored.extend(int(j) for j in ids[idx][servicetitan.mirrored(seed, ids[idx])])


def _book_jobs(
    conn: psycopg.Connection,
    rng: np.random.Generator,
    state: EstateState,
    st: Static,
    vol: Volumes,
    t0: int,
    t1: int,
    fx: Effects,
    *,
    late: bool,
) -> None:
    """New bookings (slots up to two weeks ahead) or late-arriving, already completed jobs."""
    hour = (t0 // HOUR_US) % 24
    busy = 1.6 if 12 <= hour < 24 else 0.4  # US business hours in UTC
    rate = (
        _rate(vol.jobs_per_day, LATE_JOB_SHARE)
        if late
        else vol.jobs_per_day * busy * STEP_US / DAY_US
    )
    n = int(rng.poisson(rate))
    if n == 0:
        return
    tenant, techs = st.tenant, st.techs
    today = (t0 - EPOCH_US) // DAY_US
    max_cust = _counter(
        state, f"{tenant.name}.customers", conn, "select max(customer_id) from public.customers"
    )
    candidates = tenant.id_base + 1 + rng.integers(0, max_cust - tenant.id_base, 4 * n)
    alive = dict(
        conn.execute(
            "select customer_id, region_id from public.customers where deleted_at is null and customer_id = any(%s)",
            (candidates.tolist(),),
        ).fetchall()
    )
    new_cust = rng.random(n) < (0 if late else NEW_CUSTOMER_SHARE)
    cust_ids, regions = [], []
    pool = [int(c) for c in candidates if int(c) in alive]
    for i in range(n):
        if new_cust[i] or not pool:
            region = tenant.regions[int(rng.integers(0, len(tenant.regions)))].region_id
            cust_ids.append(-region)
        else:
            c = pool.pop(0)
            cust_ids.append(c)
            regions.append(alive[c])
            continue
        regions.append(region)
    # assign technicians and slots
    rows: list[tuple[int, int, int, int]] = []  # (customer, tech_row, scheduled_us, created_us)
    for i in range(n):
        in_region = np.flatnonzero(techs.region_id == regions[i])
        if late:
            day = today - int(rng.integers(1, 4))
        else:
            day = today + int(choice(rng.random(1), [3, 6, 5, 4, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1])[0])
        for _ in range(8):
            working = in_region[techs.works(np.full(len(in_region), day), in_region)]
            if len(working):
                break
            day += -1 if late else 1
        else:
            continue
        tech = int(working[int(rng.integers(0, len(working)))])
        slots = max(1, (int(techs.shift_len_min[tech]) - 60) // 15)
        local = int(techs.shift_start_min[tech]) + 15 * int(rng.integers(0, slots))
        sched = int(
            local_to_utc_us(techs.tz[tech : tech + 1], np.array([day]), np.array([local]))[0]
        )
        created = t0 + int(rng.integers(0, STEP_US))
        if late:
            created = sched - int(rng.uniform(1, 72)) * HOUR_US
        elif sched < created + HOUR_US:
            continue
        rows.append((cust_ids[i], tech, sched, created))
    if not rows:
        return
    cust_col = np.array([r[0] for r in rows], dtype=np.int64)
    fresh = np.flatnonzero(cust_col < 0)
    if len(fresh):
        first = _next_id(
            state,
            f"{tenant.name}.customers",
            conn,
            "select max(customer_id) from public.customers",
            len(fresh),
        )
        new_ids = first + np.arange(len(fresh))
        _insert_customers(
            conn, rng, tenant, new_ids, -cust_col[fresh], np.array([r[3] for r in rows])[fresh]
        )
        cust_col[fresh] = new_ids
        fx.new_customers.extend(int(c) for c in new_ids)
    tech_row = np.array([r[1] for r in rows])
    sched = np.array([r[2] for r in rows], dtype=np.int64)
    created = np.array([r[3] for r in rows], dtype=np.int64)
    m = len(rows)
    first_job = _next_id(
        state, f"{tenant.name}.jobs", conn, "select max(job_id) from public.jobs", m
    )
    ids = first_job + np.arange(m)
    svc = choice(rng.random(m), st.services.weight)
    est = st.services.duration_min[svc]
    tl = plan(state.seed, ids, sched, est)
    fa = fate(state.seed, ids, created, tl["dispatch"])
    if late:
        keep = ~fa["cancel"] & (tl["completed"] < t0)
        fa["reschedule"][:] = False
        as_of = t0
    else:
        keep = np.ones(m, dtype=bool)
        as_of = t1 - 1
    if not keep.any():
        return
    status, started, completed, cancelled, updated = jobsdb.job_state_at(as_of, created, tl, fa)
    stamp = np.clip(updated, t0, t1 - 1) if late else np.maximum(created, t0)
    job = jobsdb.Jobs(
        ids=ids[keep],
        customer_id=cust_col[keep],
        technician_id=techs.ids[tech_row[keep]],
        service_row=svc[keep],
        region_id=techs.region_id[tech_row[keep]],
        status=status[keep],
        priority=choice(rng.random(int(keep.sum())), [0.3, 0.55, 0.15]),
        created=created[keep],
        scheduled=sched[keep],
        started=started[keep],
        completed=completed[keep],
        cancelled=cancelled[keep],
        updated=stamp[keep],
        total_cents=np.zeros(int(keep.sum()), dtype=np.int64),
        line_start=np.zeros(int(keep.sum()) + 1, dtype=np.int64),
    )
    first_item = _counter(state, f"{tenant.name}.line_items", conn, LINE_ITEM_MAX) + 1
    items = jobsdb.build_line_items(rng, tenant, st.services, job, first_item)
    state.counters[f"{tenant.name}.line_items"] = int(first_item + len(items.ids) - 1)
    items.created = np.maximum(items.created, t0) if late else items.created
    copy_table(conn, "public.jobs", jobsdb.jobs_table(job, st.services, rng))
    li = jobsdb.line_items_table(items)
    if late:
        li = li.set_column(
            li.schema.get_field_index("updated_at"),
            "updated_at",
            ac.ts(np.repeat(job.updated, np.diff(job.line_start))),
        )
    copy_table(conn, "public.job_line_items", li)
    fx.completed.extend(int(j) for j in job.ids[job.status == S["completed"]])
    fx.mirrored.extend(int(j) for j in job.ids[servicetitan.mirrored(state.seed, job.ids)])


def _insert_customers(
    conn: psycopg.Connection,
    rng: np.random.Generator,
    tenant: jobsdb.Tenant,
    ids: np.ndarray,
    region_ids: np.ndarray,
    created: np.ndarray,
) -> None:
    n = len(ids)
    regions = {r.region_id: r for r in tenant.regions}
    first, last = jobsdb.people(rng, n)
    state_codes = np.array(
        [
            regions[r].state_codes[int(rng.integers(0, len(regions[r].state_codes)))]
            for r in region_ids
        ]
    )
    city = np.array(
        [vocab.CITIES[s][int(rng.integers(0, len(vocab.CITIES[s])))] for s in state_codes]
    )
    cust = jobsdb.Customers(
        ids=ids,
        region_id=region_ids,
        created=created,
        commercial=rng.random(n) < 0.15,
        first=first,
        last=last,
        state=state_codes,
        city=city,
        company_suffix=rng.integers(0, len(vocab.COMPANY_SUFFIXES), n),
        deleted=np.full(n, -1, dtype=np.int64),
    )
    copy_table(conn, "public.customers", jobsdb.customers_table(rng, cust))


def _correct_amounts(
    conn: psycopg.Connection,
    saas: psycopg.Connection,
    rng: np.random.Generator,
    state: EstateState,
    st: Static,
    vol: Volumes,
    t0: int,
    t1: int,
    fx: Effects,
) -> None:
    """Fix the labor hours on, or add a part to, a few recently completed, unpaid jobs."""
    n = int(rng.poisson(_rate(vol.jobs_per_day, CORRECTION_SHARE)))
    if n == 0:
        return
    recent = [
        r[0]
        for r in conn.execute(
            "select job_id from public.jobs where status = 'completed' and completed_at >= %s order by job_id",
            (ts(t0 - 3 * DAY_US),),
        )
    ]
    unpaid = {
        r[0]
        for r in saas.execute(
            "select job_id from quickbooks.invoice where tenant = %s and job_id = any(%s) and status in ('Open', 'Overdue')",
            (st.tenant.name, recent),
        )
    }
    pool = [j for j in recent if j in unpaid]
    if not pool:
        return
    for job_id in rng.choice(pool, size=min(n, len(pool)), replace=False):
        at = t0 + int(rng.integers(0, STEP_US))
        if rng.random() < 0.7:
            row = conn.execute(
                "select line_item_id, (quantity * 100)::bigint, unit_price_cents, amount_cents from public.job_line_items"
                " where job_id = %s and item_type = 'labor' order by line_item_id limit 1",
                (int(job_id),),
            ).fetchone()
            if row is None:
                continue
            item_id, qty, unit, amount = row
            new_qty = max(50, qty + int(rng.choice([-50, -25, 25, 50, 100])))
            new_amount = (new_qty * unit + 50) // 100
            conn.execute(
                "update public.job_line_items set quantity = %s, amount_cents = %s, updated_at = %s where line_item_id = %s",
                (new_qty / 100, new_amount, ts(at), item_id),
            )
            delta = new_amount - amount
        else:
            part_name, price = vocab.PARTS["HVAC"][int(rng.integers(0, len(vocab.PARTS["HVAC"])))]
            item_id = _next_id(state, f"{st.tenant.name}.line_items", conn, LINE_ITEM_MAX, 1)
            conn.execute(
                "insert into public.job_line_items values (%s, %s, 'part', %s, 1, %s, %s, %s, %s)",
                (item_id, int(job_id), f"Part: {part_name}", price, price, ts(at), ts(at)),
            )
            delta = price
        conn.execute(
            "update public.jobs set total_amount_cents = total_amount_cents + %s, updated_at = %s where job_id = %s",
            (delta, ts(at), int(job_id)),
        )
        fx.retotalled.append((int(job_id), at))


def _hard_delete(
    conn: psycopg.Connection,
    rng: np.random.Generator,
    st: Static,
    vol: Volumes,
    t0: int,
    t1: int,
    fx: Effects,
) -> None:
    """Delete a few jobs booked by mistake (line items cascade) and a few extra line items."""
    n = int(rng.poisson(_rate(vol.jobs_per_day, HARD_DELETE_SHARE)))
    if n:
        pool = [
            r[0]
            for r in conn.execute(
                "select job_id from public.jobs where created_at >= %s order by job_id",
                (ts(t0 - 30 * DAY_US),),
            )
        ]
        for job_id in rng.choice(pool, size=min(n, len(pool)), replace=False) if pool else []:
            at = t0 + int(rng.integers(0, STEP_US))
            schema.set_clock(conn, ts(at).isoformat())
            conn.execute("delete from public.jobs where job_id = %s", (int(job_id),))
            fx.voided.append((int(job_id), at))
    k = int(rng.poisson(_rate(vol.jobs_per_day, LINE_DELETE_SHARE)))
    if k:
        pool_items = conn.execute(
            "select li.line_item_id, li.job_id, li.amount_cents from public.job_line_items li"
            " join public.jobs j on j.job_id = li.job_id"
            " where j.status = 'scheduled' and li.item_type <> 'labor' order by li.line_item_id"
        ).fetchall()
        if pool_items:
            for pos in rng.choice(len(pool_items), size=min(k, len(pool_items)), replace=False):
                item_id, job_id, amount = pool_items[int(pos)]
                at = t0 + int(rng.integers(0, STEP_US))
                schema.set_clock(conn, ts(at).isoformat())
                conn.execute(
                    "delete from public.job_line_items where line_item_id = %s", (item_id,)
                )
                conn.execute(
                    "update public.jobs set total_amount_cents = total_amount_cents - %s, updated_at = %s where job_id = %s",
                    (amount, ts(at), job_id),
                )
    schema.set_clock(conn, ts(t0).isoformat())


def _soft_delete(
    conn: psycopg.Connection, rng: np.random.Generator, vol: Volumes, t0: int, t1: int, fx: Effects
) -> None:
    """Customers who close their account: flagged, never removed."""
    n = int(rng.poisson(_rate(vol.customers, SOFT_DELETE_SHARE)))
    if n == 0:
        return
    pool = [
        r[0]
        for r in conn.execute(
            "select customer_id from public.customers where deleted_at is null order by customer_id"
        )
    ]
    for cid in rng.choice(pool, size=min(n, len(pool)), replace=False) if pool else []:
        at = t0 + int(rng.integers(0, STEP_US))
        conn.execute(
            "update public.customers set deleted_at = %s, updated_at = %s where customer_id = %s",
            (ts(at), ts(at), int(cid)),
        )
        fx.soft_deleted.append((int(cid), at))


# ---------------------------------------------------------------------------------------------
# SaaS systems
# ---------------------------------------------------------------------------------------------


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
        _raise_invoices(conn, saas, state, tenant, fx.completed, t0, t1)
    for job_id, at in fx.retotalled:
        _retotal_invoice(conn, saas, tenant, job_id, at)
    for job_id, at in fx.voided:
        inv = saas.execute(
            "update quickbooks.invoice set status = 'Voided', total_amt = 0, balance = 0, updated_at = %s"
            " where tenant = %s and job_id = %s returning id",
            (ts(at), tenant, job_id),
        ).fetchone()
        if inv:
            saas.execute(
                "update quickbooks.invoice_line set amount = 0, updated_at = %s where invoice_id = %s",
                (ts(at), inv[0]),
            )
            saas.execute("delete from sim.pending_payments where invoice_id = %s", (inv[0],))
        saas.execute(
            "update servicetitan.jobs set job_status = 'Canceled', modified_on = %s where fieldforce_job_id = %s",
            (ts(at), job_id),
        )
    if fx.mirrored:
        _mirror_servicetitan(conn, saas, state, tenant, sorted(set(fx.mirrored)), t0, t1)
    if fx.new_customers:
        _new_accounts(conn, saas, rng, state, st, fx.new_customers, t0, t1)
    for cid, at in fx.soft_deleted:
        acct = f"001{cid:015d}"
        stamp = ts(min(at + 5 * MINUTE_US, t1 - 1))
        saas.execute(
            'update salesforce."Account" set "IsDeleted" = true, "SystemModstamp" = %s where "Id" = %s',
            (stamp, acct),
        )
        for obj in ("Contact", "Opportunity", "Case"):
            saas.execute(
                f'update salesforce."{obj}" set "IsDeleted" = true, "SystemModstamp" = %s where "AccountId" = %s',
                (stamp, acct),
            )


def _raise_invoices(
    conn: psycopg.Connection,
    saas: psycopg.Connection,
    state: EstateState,
    tenant: str,
    job_ids: list[int],
    t0: int,
    t1: int,
) -> None:
    jobs = conn.execute(
        f"select j.job_id, j.customer_id, {_us('j.completed_at')}, j.total_amount_cents, c.customer_type = 'commercial'"
        " from public.jobs j join public.customers c on c.customer_id = j.customer_id where j.job_id = any(%s) order by j.job_id",
        (job_ids,),
    ).fetchall()
    if not jobs:
        return
    first = _next_id(
        state, "quickbooks.invoice", saas, "select max(id) from quickbooks.invoice", len(jobs)
    )
    ids = first + np.arange(len(jobs))
    job_id, customer, completed, total, commercial = (np.array(c) for c in zip(*jobs, strict=True))
    created = np.clip(
        completed + (uniform(state.seed, "inv_delay", job_id) * 2 * HOUR_US).astype(np.int64),
        t0,
        t1 - 1,
    )
    due = (completed // DAY_US + quickbooks.due_days(commercial)) * DAY_US
    n = len(ids)
    copy_table(
        saas,
        "quickbooks.invoice",
        pa.table(
            {
                "id": pa.array(ids, pa.int64()),
                "doc_number": ac.join("INV-", ac.num_str(ids, 7)),
                "customer_ref": pa.array(customer, pa.int64()),
                "job_id": pa.array(job_id, pa.int64()),
                "tenant": pa.array([tenant] * n),
                "txn_date": ac.date(completed),
                "due_date": ac.date(due),
                "total_amt": ac.money(total),
                "balance": ac.money(total),
                "status": pa.array(["Open"] * n),
                "currency": pa.array([quickbooks.CURRENCY] * n),
                "created_at": ac.ts(created),
                "updated_at": ac.ts(created),
            }
        ),
    )
    for inv, jid, at in zip(ids, job_id, created, strict=True):
        _write_invoice_lines(conn, saas, int(inv), int(jid), int(at))
    pay = quickbooks.payment_plan(state.seed, ids, created, commercial.astype(bool))
    copy_table(
        saas,
        "sim.pending_payments",
        pa.table(
            {
                "invoice_id": pa.array(ids, pa.int64()),
                "pay_at": ac.ts(pay["pay_at"]),
                "method": ac.pick(vocab.PAYMENT_METHODS, pay["method"]),
            }
        ),
    )


def _write_invoice_lines(
    conn: psycopg.Connection, saas: psycopg.Connection, invoice_id: int, job_id: int, at: int
) -> None:
    items = conn.execute(
        "select description, item_type, amount_cents from public.job_line_items where job_id = %s order by line_item_id",
        (job_id,),
    ).fetchall()
    saas.cursor().executemany(
        "insert into quickbooks.invoice_line values (%s, %s, %s, %s, %s / 100.0, %s)"
        " on conflict (invoice_id, line_num) do update set description = excluded.description,"
        " item_type = excluded.item_type, amount = excluded.amount, updated_at = excluded.updated_at"
        " where (quickbooks.invoice_line.description, quickbooks.invoice_line.amount)"
        " is distinct from (excluded.description, excluded.amount)",
        [(invoice_id, i + 1, d, t, a, ts(at)) for i, (d, t, a) in enumerate(items)],
    )


def _retotal_invoice(
    conn: psycopg.Connection, saas: psycopg.Connection, tenant: str, job_id: int, at: int
) -> None:
    total = conn.execute(
        "select total_amount_cents from public.jobs where job_id = %s", (job_id,)
    ).fetchone()
    inv = saas.execute(
        "update quickbooks.invoice set total_amt = %s / 100.0, balance = %s / 100.0, updated_at = %s"
        " where tenant = %s and job_id = %s and status in ('Open', 'Overdue') returning id",
        (total[0], total[0], ts(at), tenant, job_id),
    ).fetchone()
    if inv:
        _write_invoice_lines(conn, saas, inv[0], job_id, at)


def _mirror_servicetitan(
    conn: psycopg.Connection,
    saas: psycopg.Connection,
    state: EstateState,
    tenant: str,
    job_ids: list[int],
    t0: int,
    t1: int,
) -> None:
    rows = conn.execute(
        f"select j.job_id, j.customer_id, j.technician_id, j.status, s.category, {_us('j.created_at')},"
        f" {_us('j.scheduled_at')}, s.estimated_duration_minutes, coalesce({_us('j.started_at')}, -1),"
        f" coalesce({_us('j.completed_at')}, -1), {_us('j.updated_at')}"
        " from public.jobs j join public.service_types s on s.service_type_id = j.service_type_id"
        " where j.job_id = any(%s) order by j.job_id",
        (job_ids,),
    ).fetchall()
    for ff, cust, tech, status, category, created, sched, est, started, completed, updated in rows:
        lag = int(servicetitan.sync_lag(state.seed, np.array([ff]))[0])
        at = ts(min(max(updated + lag, t0), t1 - 1))
        s = S[status]
        existing = saas.execute(
            "select id from servicetitan.jobs where fieldforce_job_id = %s", (ff,)
        ).fetchone()
        if existing is None:
            st_id = _next_id(
                state, "servicetitan.jobs", saas, "select max(id) from servicetitan.jobs", 1
            )
            saas.execute(
                "insert into servicetitan.jobs values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    st_id,
                    f"ST-{st_id:08d}",
                    ff,
                    cust,
                    tenant,
                    category,
                    servicetitan.JOB_STATUS[s],
                    ts(min(max(created + lag, t0), t1 - 1)),
                    ts(completed) if completed >= 0 else None,
                    at,
                ),
            )
            saas.execute(
                "insert into servicetitan.appointments values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    st_id,
                    st_id,
                    tech,
                    f"ST-{st_id:08d}-1",
                    ts(sched),
                    ts(sched + est * MINUTE_US),
                    ts(sched - HOUR_US),
                    ts(sched + HOUR_US),
                    servicetitan.APPOINTMENT_STATUS[s],
                    at,
                ),
            )
        else:
            st_id = existing[0]
            saas.execute(
                "update servicetitan.jobs set job_status = %s, completed_on = %s, modified_on = %s where id = %s",
                (servicetitan.JOB_STATUS[s], ts(completed) if completed >= 0 else None, at, st_id),
            )
            saas.execute(
                "update servicetitan.appointments set status = %s, start_at = %s, end_at = %s, modified_on = %s where job_id = %s",
                (
                    servicetitan.APPOINTMENT_STATUS[s],
                    ts(sched),
                    ts(sched + est * MINUTE_US),
                    at,
                    st_id,
                ),
            )
        if started >= 0:
            sheets_now = {
                a: r
                for a, r in saas.execute(
                    "select activity, id from servicetitan.timesheets where job_id = %s", (st_id,)
                )
            }
            drive = int(servicetitan.drive_minutes(state.seed, np.array([ff]))[0]) * MINUTE_US
            if "Driving" not in sheets_now:
                first = _next_id(
                    state,
                    "servicetitan.timesheets",
                    saas,
                    "select max(id) from servicetitan.timesheets",
                    2,
                )
                saas.execute(
                    "insert into servicetitan.timesheets values (%s, %s, %s, %s, 'Driving', %s, %s, %s),"
                    " (%s, %s, %s, %s, 'Working', %s, %s, %s)",
                    (
                        first,
                        tech,
                        st_id,
                        st_id,
                        ts(started - drive),
                        ts(started),
                        at,
                        first + 1,
                        tech,
                        st_id,
                        st_id,
                        ts(started),
                        ts(completed) if completed >= 0 else None,
                        at,
                    ),
                )
            elif completed >= 0:
                saas.execute(
                    "update servicetitan.timesheets set clock_out = %s, modified_on = %s where id = %s and clock_out is null",
                    (ts(completed), at, sheets_now["Working"]),
                )


def _new_accounts(
    conn: psycopg.Connection,
    saas: psycopg.Connection,
    rng: np.random.Generator,
    state: EstateState,
    st: Static,
    customer_ids: list[int],
    t0: int,
    t1: int,
) -> None:
    rows = conn.execute(
        "select customer_id, first_name, last_name, email, phone, city, state, region_id, customer_type"
        " from public.customers where customer_id = any(%s) order by customer_id",
        (customer_ids,),
    ).fetchall()
    for cid, first, last, email, phone, city, st_code, region, ctype in rows:
        at = ts(t0 + int(rng.integers(0, STEP_US)))
        acct = f"001{cid:015d}"
        commercial = ctype == "commercial"
        name = (
            f"{last} {vocab.COMPANY_SUFFIXES[cid % len(vocab.COMPANY_SUFFIXES)]}"
            if commercial
            else f"{first} {last}"
        )
        saas.execute(
            'insert into salesforce."Account" values (%s, %s, %s, %s, %s, %s, %s, %s, %s, false, %s, %s)',
            (
                acct,
                name,
                "Commercial" if commercial else "Residential",
                vocab.INDUSTRIES[cid % len(vocab.INDUSTRIES)] if commercial else None,
                city,
                st_code,
                region,
                cid,
                st.tenant.name,
                at,
                at,
            ),
        )
        contact_no = _next_id(
            state,
            f"salesforce.{st.tenant.name}.contact",
            saas,
            f"""select coalesce(max(right("Id", 15)::bigint), {st.tenant.id_base}) from salesforce."Contact"
                where "Id" like '003{st.tenant.index:07d}%'""",
            1,
        )
        saas.execute(
            'insert into salesforce."Contact" values (%s, %s, %s, %s, %s, %s, %s, false, %s, %s)',
            (
                f"003{contact_no:015d}",
                acct,
                first,
                last,
                email,
                phone,
                "Facilities Manager" if commercial else "Homeowner",
                at,
                at,
            ),
        )


def _payments(saas: psycopg.Connection, state: EstateState, t0: int, t1: int) -> None:
    due = saas.execute(
        f"select p.invoice_id, {_us('p.pay_at')}, p.method, i.customer_ref, (i.total_amt * 100)::bigint"
        " from sim.pending_payments p join quickbooks.invoice i on i.id = p.invoice_id"
        " where p.pay_at < %s order by p.pay_at, p.invoice_id",
        (ts(t1),),
    ).fetchall()
    if due:
        first = _next_id(
            state, "quickbooks.payment", saas, "select max(id) from quickbooks.payment", len(due)
        )
        rows = []
        for k, (inv, pay_at, method, customer, cents) in enumerate(due):
            at = ts(min(max(pay_at, t0), t1 - 1))
            rows.append((first + k, inv, customer, at.date(), cents / 100, method, at, at))
            saas.execute(
                "update quickbooks.invoice set balance = 0, status = 'Paid', updated_at = %s where id = %s",
                (at, inv),
            )
        saas.cursor().executemany(
            "insert into quickbooks.payment values (%s, %s, %s, %s, %s, %s, %s, %s)", rows
        )
        saas.execute(
            "delete from sim.pending_payments where invoice_id = any(%s)", ([r[0] for r in due],)
        )
    saas.execute(
        "update quickbooks.invoice set status = 'Overdue', updated_at = %s where status = 'Open' and due_date < %s",
        (ts(t0), ts(t1 - 1).date()),
    )


def _salesforce_activity(
    saas: psycopg.Connection,
    rng: np.random.Generator,
    state: EstateState,
    vol: Volumes,
    t0: int,
    t1: int,
) -> None:
    """New and closed cases, opportunities moving a stage."""
    customers_total = vol.customers * len(state.tenants)
    for _ in range(int(rng.poisson(_rate(customers_total, 0.15 / 90)))):
        tenant = state.tenants[int(rng.integers(0, len(state.tenants)))]
        acct = saas.execute(
            'select a."Id", (select min(c."Id") from salesforce."Contact" c where c."AccountId" = a."Id")'
            ' from salesforce."Account" a where not a."IsDeleted" and a."Tenant__c" = %s'
            ' order by a."Id" offset %s limit 1',
            (tenant, int(rng.integers(0, max(vol.customers, 1)))),
        ).fetchone()
        if acct is None:
            continue
        at = ts(t0 + int(rng.integers(0, STEP_US)))
        # cases opened by the stream get their own id range above every tenant's
        state.counters.setdefault("salesforce.case", 9 * catalog.ID_OFFSET)
        state.counters["salesforce.case"] += 1
        case_no = state.counters["salesforce.case"]
        saas.execute(
            'insert into salesforce."Case" values (%s, %s, %s, %s, %s, %s, %s, false, null, false, %s, %s)',
            (
                f"500{case_no:015d}",
                acct[0],
                acct[1],
                vocab.CASE_SUBJECTS[int(rng.integers(0, len(vocab.CASE_SUBJECTS)))],
                "New",
                vocab.CASE_PRIORITIES[int(rng.integers(0, 3))],
                vocab.CASE_ORIGINS[int(rng.integers(0, 3))],
                at,
                at,
            ),
        )
    for _ in range(int(rng.poisson(_rate(customers_total, 0.15 / 90)))):
        at = ts(t0 + int(rng.integers(0, STEP_US)))
        saas.execute(
            'update salesforce."Case" set "Status" = \'Closed\', "IsClosed" = true, "ClosedDate" = %s, "SystemModstamp" = %s'
            ' where "Id" = (select "Id" from salesforce."Case" where not "IsClosed" and not "IsDeleted" order by "Id" limit 1)',
            (at, at),
        )
    for _ in range(int(rng.poisson(_rate(customers_total, 0.02)))):
        at = ts(t0 + int(rng.integers(0, STEP_US)))
        row = saas.execute(
            'select "Id", "StageName" from salesforce."Opportunity" where not "IsClosed" and not "IsDeleted"'
            ' order by "SystemModstamp", "Id" limit 1'
        ).fetchone()
        if row is None:
            break
        stage = vocab.OPPORTUNITY_STAGES.index(row[1])
        nxt = stage + 1 if stage < 3 else (4 if rng.random() < 0.55 else 5)
        closed = nxt >= 4
        saas.execute(
            'update salesforce."Opportunity" set "StageName" = %s, "IsClosed" = %s, "IsWon" = %s,'
            ' "CloseDate" = case when %s then %s::date else "CloseDate" end, "SystemModstamp" = %s where "Id" = %s',
            (vocab.OPPORTUNITY_STAGES[nxt], closed, nxt == 4, closed, at.date(), at, row[0]),
        )


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------


def _telematics(paths: Paths, state: EstateState, t1: int) -> None:
    fl = telematics.fleet(state.seed, state.scale, tuple(state.tenants))
    while EPOCH_US + (state.gps_next_seq + 1) * telematics.BATCH_US <= t1:
        table = telematics.batch(state.seed, fl, state.gps_next_seq)
        target = telematics.batch_path(paths.telematics, state.gps_next_seq)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".parquet.tmp")
        pq.write_table(table, tmp)
        tmp.replace(target)
        state.gps_next_seq += 1


def _sheets(paths: Paths, state: EstateState, vol: Volumes, t1: int) -> None:
    day = (t1 - EPOCH_US) // DAY_US
    if day > state.sheet_revision:
        sheets.write(
            paths.sheets, sheets.regional_targets(state.seed, vol, tuple(state.tenants), t1)
        )
        state.sheet_revision = int(day)
