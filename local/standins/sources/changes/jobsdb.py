"""The Jobs DB side of a step: jobs progress, amounts are corrected, rows are deleted."""

from __future__ import annotations

import numpy as np
import psycopg

from standins.sources import catalog, jobsdb, schema, servicetitan, vocab
from standins.sources.changes.common import (
    LINE_ITEM_MAX,
    STEP_US,
    Effects,
    S,
    Static,
    event_rate,
    next_id,
    sql_us,
    ts,
)
from standins.sources.config import DAY_US, Volumes
from standins.sources.state import EstateState
from standins.sources.timeline import fate, plan

RANK = np.array(
    [0, 1, 2, 3, 3, 0.5]
)  # by catalog.JOB_STATUSES; cancelled is terminal like completed
OPEN_STATUSES = ("scheduled", "rescheduled", "dispatched", "in_progress")

# Daily rates as shares of the tenant's jobs per day (or customers for soft deletes).
CORRECTION_SHARE = 0.02
HARD_DELETE_SHARE = 0.002
LINE_DELETE_SHARE = 0.003
SOFT_DELETE_SHARE = 0.0005


def progress_jobs(
    conn: psycopg.Connection, seed: int, st: Static, t0: int, t1: int, fx: Effects
) -> None:
    """Move open jobs along their timeline; reschedule the ones whose fate says so."""
    rows = conn.execute(
        f"select job_id, status, {sql_us('created_at')}, {sql_us('scheduled_at')}, service_type_id from public.jobs"
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


def correct_amounts(
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
    n = int(rng.poisson(event_rate(vol.jobs_per_day, CORRECTION_SHARE)))
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
            item_id = next_id(state, f"{st.tenant.name}.line_items", conn, LINE_ITEM_MAX, 1)
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


def hard_delete(
    conn: psycopg.Connection,
    rng: np.random.Generator,
    st: Static,
    vol: Volumes,
    t0: int,
    t1: int,
    fx: Effects,
) -> None:
    """Delete a few jobs booked by mistake (line items cascade) and a few extra line items."""
    n = int(rng.poisson(event_rate(vol.jobs_per_day, HARD_DELETE_SHARE)))
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
    k = int(rng.poisson(event_rate(vol.jobs_per_day, LINE_DELETE_SHARE)))
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


def soft_delete(
    conn: psycopg.Connection, rng: np.random.Generator, vol: Volumes, t0: int, t1: int, fx: Effects
) -> None:
    """Customers who close their account: flagged, never removed."""
    n = int(rng.poisson(event_rate(vol.customers, SOFT_DELETE_SHARE)))
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
