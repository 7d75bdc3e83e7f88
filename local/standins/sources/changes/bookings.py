"""New bookings in the Jobs DB, and late-arriving jobs that appear already completed."""

from __future__ import annotations

import numpy as np
import psycopg

from standins.sources import arrowcols as ac
from standins.sources import jobsdb, servicetitan, vocab
from standins.sources.bulkload import copy_table
from standins.sources.changes.common import (
    LINE_ITEM_MAX,
    STEP_US,
    Effects,
    S,
    Static,
    counter,
    event_rate,
    next_id,
)
from standins.sources.config import DAY_US, HOUR_US, Volumes, start_us
from standins.sources.rand import choice
from standins.sources.state import EstateState
from standins.sources.timeline import fate, local_to_utc_us, plan

# Daily rates as shares of the tenant's jobs per day.
LATE_JOB_SHARE = 0.01
NEW_CUSTOMER_SHARE = 0.15


def book_jobs(
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
        event_rate(vol.jobs_per_day, LATE_JOB_SHARE)
        if late
        else vol.jobs_per_day * busy * STEP_US / DAY_US
    )
    n = int(rng.poisson(rate))
    if n == 0:
        return
    tenant, techs = st.tenant, st.techs
    today = (t0 - start_us()) // DAY_US
    max_cust = counter(
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
        first = next_id(
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
    first_job = next_id(
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
    first_item = counter(state, f"{tenant.name}.line_items", conn, LINE_ITEM_MAX) + 1
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
