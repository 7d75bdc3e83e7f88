"""Jobs and their line items: the dispatch board, filled one technician-day at a time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from standins.sources import arrowcols as ac
from standins.sources import catalog, vocab
from standins.sources.config import BOOKING_HORIZON_DAYS, DAY_US, HOUR_US, MINUTE_US
from standins.sources.jobsdb.population import Customers, Technicians
from standins.sources.jobsdb.tenant import CATEGORIES, ServiceTypes, Tenant
from standins.sources.rand import choice, stream
from standins.sources.timeline import fate, local_to_utc_us, plan

STATUS = {name: i for i, name in enumerate(catalog.JOB_STATUSES)}
LABOR, PART, FEE, DISCOUNT = range(4)
TRIP_FEE_CENTS = 4_900


@dataclass
class Jobs:
    """A tenant's jobs as arrays (id order), the facts the other systems are derived from."""

    ids: np.ndarray
    customer_id: np.ndarray
    technician_id: np.ndarray
    service_row: np.ndarray  # index into ServiceTypes
    region_id: np.ndarray
    status: np.ndarray  # index into catalog.JOB_STATUSES
    priority: np.ndarray
    created: np.ndarray
    scheduled: np.ndarray
    started: np.ndarray  # -1 = null
    completed: np.ndarray
    cancelled: np.ndarray
    updated: np.ndarray
    total_cents: np.ndarray
    line_start: np.ndarray  # offsets into LineItems (len = n + 1)


@dataclass
class LineItems:
    """A tenant's job line items, grouped by job (job-id order)."""

    ids: np.ndarray
    job_id: np.ndarray
    item_type: np.ndarray
    description: pa.Array
    quantity_hundredths: np.ndarray
    unit_price_cents: np.ndarray
    amount_cents: np.ndarray
    created: np.ndarray


def _segment_exclusive_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-group running sums that exclude the current element (groups laid out contiguously)."""
    total = np.cumsum(values)
    starts = np.cumsum(counts) - counts
    before_group = np.where(starts > 0, total[np.maximum(starts - 1, 0)], 0)
    return total - values - np.repeat(before_group, counts)


def jobs(
    seed: int,
    tenant: Tenant,
    services: ServiceTypes,
    techs: Technicians,
    cust: Customers,
    history_days: int,
    now_us: int,
) -> Jobs:
    """Jobs of every technician-day from the start to two weeks past ``now`` booked by now."""
    rng = stream(seed, tenant.index, "jobs")
    n_days = history_days + BOOKING_HORIZON_DAYS
    tech_rows, days = np.meshgrid(np.arange(len(techs.ids)), np.arange(n_days), indexing="ij")
    tech_rows, days = tech_rows.ravel(), days.ravel()
    keep = techs.works(days, tech_rows)
    tech_rows, days = tech_rows[keep], days[keep]
    per_day = 1 + rng.binomial(4, 0.55, len(days))
    td = np.repeat(np.arange(len(days)), per_day)
    svc = choice(rng.random(len(td)), services.weight)
    duration = services.duration_min[svc]
    travel = 15 + 5 * rng.integers(0, 7, len(td))
    offset = _segment_exclusive_cumsum(duration + travel, per_day) + travel
    offset = (offset + 14) // 15 * 15
    tech = tech_rows[td]
    fits = offset <= techs.shift_len_min[tech] - 30
    td, svc, tech, offset = td[fits], svc[fits], tech[fits], offset[fits]
    day = days[td]
    scheduled = local_to_utc_us(techs.tz[tech], day, techs.shift_start_min[tech] + offset)
    n = len(td)
    priority = choice(rng.random(n), [0.3, 0.55, 0.15])
    lead_min = np.where(
        priority == 2,
        rng.uniform(45, 240, n),
        np.clip(np.exp(rng.normal(np.log(2 * 24 * 60), 0.9, n)), 60, 30 * 24 * 60),
    )
    created = scheduled - (lead_min * MINUTE_US).astype(np.int64)
    booked = created <= now_us
    scheduled, created, priority, svc, tech = (
        a[booked] for a in (scheduled, created, priority, svc, tech)
    )
    order = np.lexsort((techs.ids[tech], scheduled, created))
    scheduled, created, priority, svc, tech = (
        a[order] for a in (scheduled, created, priority, svc, tech)
    )
    n = len(scheduled)
    ids = tenant.id_base + 1 + np.arange(n)
    region = techs.region_id[tech]
    customer = _pick_customers(rng, cust, region, created)
    # a customer cannot book before they exist
    created = np.maximum(created, cust.created[customer - cust.ids[0]] + HOUR_US)
    created = np.minimum(created, np.minimum(scheduled - 30 * MINUTE_US, now_us))
    timeline = plan(seed, ids, scheduled, services.duration_min[svc])
    fates = fate(seed, ids, created, timeline["dispatch"])
    status, started, completed, cancelled, updated = job_state_at(now_us, created, timeline, fates)
    return Jobs(
        ids=ids,
        customer_id=customer,
        technician_id=techs.ids[tech],
        service_row=svc,
        region_id=region,
        status=status,
        priority=priority,
        created=created,
        scheduled=scheduled,
        started=started,
        completed=completed,
        cancelled=cancelled,
        updated=updated,
        total_cents=np.zeros(n, dtype=np.int64),
        line_start=np.zeros(n + 1, dtype=np.int64),
    )


def _pick_customers(
    rng: np.random.Generator, cust: Customers, region: np.ndarray, created: np.ndarray
) -> np.ndarray:
    """A customer of the job's region who existed when the job was booked.

    Repeat customers are likelier: the draw is skewed towards long-standing accounts.
    """
    out = np.empty(len(region), dtype=np.int64)
    for region_id in np.unique(region):
        mask = region == region_id
        pool = np.flatnonzero(cust.region_id == region_id)
        eligible = np.maximum(np.searchsorted(cust.created[pool], created[mask] - HOUR_US), 1)
        pick = np.minimum((eligible * rng.random(mask.sum()) ** 1.3).astype(np.int64), eligible - 1)
        out[mask] = cust.ids[pool[pick]]
    return out


def job_state_at(
    now_us: int, created: np.ndarray, timeline: dict[str, np.ndarray], fates: dict[str, np.ndarray]
) -> tuple[np.ndarray, ...]:
    """Status and event timestamps of jobs as of ``now`` (timestamps -1 where not yet).

    Returns:
        ``(status, started, completed, cancelled, updated)``.
    """
    n = len(created)
    status = np.full(n, STATUS["scheduled"])
    rescheduled = fates["reschedule"] & (fates["at"] <= now_us)
    status[rescheduled] = STATUS["rescheduled"]
    status[timeline["dispatch"] <= now_us] = STATUS["dispatched"]
    status[timeline["started"] <= now_us] = STATUS["in_progress"]
    status[timeline["completed"] <= now_us] = STATUS["completed"]
    cancelled_now = fates["cancel"] & (fates["at"] <= now_us)
    status[cancelled_now] = STATUS["cancelled"]
    live = ~cancelled_now
    started = np.where(live & (timeline["started"] <= now_us), timeline["started"], -1)
    completed = np.where(live & (timeline["completed"] <= now_us), timeline["completed"], -1)
    cancelled = np.where(cancelled_now, fates["at"], -1)
    dispatched = np.where(live & (timeline["dispatch"] <= now_us), timeline["dispatch"], -1)
    resched = np.where(rescheduled & live, fates["at"], -1)
    updated = np.maximum.reduce([created, resched, dispatched, started, completed, cancelled])
    return status, started, completed, cancelled, updated


def line_items(
    seed: int, tenant: Tenant, services: ServiceTypes, job: Jobs, first_id: int
) -> LineItems:
    """Line items per job (labor, parts, trip fee, discount) and the job totals they sum to.

    Fills ``job.total_cents`` and ``job.line_start`` in place.
    """
    rng = stream(seed, tenant.index, "line_items", int(job.ids[0]) if len(job.ids) else 0)
    return build_line_items(rng, tenant, services, job, first_id)


def build_line_items(
    rng: np.random.Generator, tenant: Tenant, services: ServiceTypes, job: Jobs, first_id: int
) -> LineItems:
    """Line items for ``job`` drawn from ``rng`` (shared by history and change stream)."""
    n = len(job.ids)
    cat = services.category[job.service_row]
    price = services.price_cents[job.service_row] * np.exp(rng.normal(0, 0.2, n))
    parts_p = np.where(
        np.isin(cat, [CATEGORIES.index("Pest Control"), CATEGORIES.index("Maintenance")]), 0.25, 0.5
    )
    n_parts = rng.binomial(3, parts_p)
    has_fee = rng.random(n) < 0.3
    has_discount = rng.random(n) < 0.08
    counts = 1 + n_parts + has_fee + has_discount
    job_row = np.repeat(np.arange(n), counts)
    pos = np.arange(len(job_row)) - np.repeat(np.cumsum(counts) - counts, counts)
    kind = np.full(len(job_row), PART)
    kind[pos == 0] = LABOR
    fee_pos = np.where(has_fee, 1 + n_parts, -1)
    kind[pos == fee_pos[job_row]] = FEE
    kind[(pos == (counts - 1)[job_row]) & has_discount[job_row]] = DISCOUNT

    labor_share = np.where(n_parts > 0, rng.uniform(0.35, 0.7, n), 1.0)
    rate = tenant.labor_rate_cents
    hours_q = np.maximum(50, np.round(price * labor_share / rate * 4) * 25).astype(
        np.int64
    )  # quarter hours
    qty = np.ones(len(job_row), dtype=np.int64) * 100
    unit = np.zeros(len(job_row), dtype=np.int64)
    labor = kind == LABOR
    qty[labor] = hours_q[job_row[labor]]
    unit[labor] = rate
    part = kind == PART
    part_budget = price * (1 - labor_share) / np.maximum(n_parts, 1)
    part_qty = rng.integers(1, 4, part.sum())
    qty[part] = part_qty * 100
    unit[part] = np.maximum(
        500, np.round(part_budget[job_row[part]] * rng.uniform(0.5, 1.5, part.sum()) / part_qty)
    )
    unit[kind == FEE] = TRIP_FEE_CENTS
    amount = (qty * unit + 50) // 100
    subtotal = np.bincount(
        job_row, weights=np.where(kind == DISCOUNT, 0, amount), minlength=n
    ).astype(np.int64)
    disc = kind == DISCOUNT
    unit[disc] = -((subtotal[job_row[disc]] + 5) // 10)
    amount[disc] = unit[disc]
    total = np.bincount(job_row, weights=amount, minlength=n).astype(np.int64)

    part_names = [p for c in CATEGORIES for p, _ in vocab.PARTS[c]]
    part_first = np.cumsum([0] + [len(vocab.PARTS[c]) for c in CATEGORIES])
    part_count = np.diff(part_first)
    part_idx = (
        part_first[cat[job_row]]
        + rng.integers(0, 1_000_000, len(job_row)) % part_count[cat[job_row]]
    )
    svc_names = [s[0] for s in catalog.SERVICE_CATALOG]
    # One vocabulary of every description, picked by code in C++: building the strings per
    # kind as Python objects would cost ~200 bytes a line (gigabytes at scale 1.0).
    labels = [
        *(f"Labor: {name}" for name in svc_names),
        *(f"Part: {name}" for name in part_names),
        *("", "", "Trip charge", "Discount: loyalty 10%"),
    ]
    code = np.where(
        labor,
        job.service_row[job_row],
        np.where(part, len(svc_names) + part_idx, len(svc_names) + len(part_names) + kind),
    )
    desc = ac.pick(labels, code)

    job.total_cents = total
    job.line_start = np.concatenate([[0], np.cumsum(counts)])
    return LineItems(
        ids=first_id + np.arange(len(job_row)),
        job_id=job.ids[job_row],
        item_type=kind,
        description=desc,
        quantity_hundredths=qty,
        unit_price_cents=unit,
        amount_cents=amount,
        created=job.created[job_row],
    )


def soft_delete_customers(
    seed: int, tenant: Tenant, cust: Customers, job: Jobs, now_us: int
) -> None:
    """Mark ~1.5 % of customers deleted some days after their last activity (if that is past)."""
    rng = stream(seed, tenant.index, "customer_deletes")
    last = cust.created.copy()
    np.maximum.at(last, job.customer_id - cust.ids[0], job.updated)
    deleted = last + (rng.uniform(1, 20, len(last)) * DAY_US).astype(np.int64)
    chosen = (rng.random(len(last)) < 0.015) & (deleted <= now_us)
    cust.deleted = np.where(chosen, deleted, -1)


@dataclass
class Notes:
    """Which jobs carry a dispatcher's note, and which one (drawn up front for every job)."""

    has_note: np.ndarray
    index: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int) -> Notes:
        """The draws :func:`jobs_table` makes, in its order, so any row range reads the same."""
        has_note = rng.random(n) < 0.35
        return cls(has_note, rng.integers(0, len(vocab.JOB_NOTES), n))


def jobs_table(job: Jobs, services: ServiceTypes, notes_rng: np.random.Generator) -> pa.Table:
    """The ``jobs`` rows."""
    return jobs_rows(job, services, Notes.draw(notes_rng, len(job.ids)), slice(None))


def jobs_rows(job: Jobs, services: ServiceTypes, notes: Notes, rows: slice) -> pa.Table:
    """The ``jobs`` rows ``rows`` (the bulk load renders a large tenant a slice at a time)."""
    return pa.table(
        {
            "job_id": pa.array(job.ids[rows], pa.int64()),
            "customer_id": pa.array(job.customer_id[rows], pa.int64()),
            "technician_id": pa.array(job.technician_id[rows], pa.int64()),
            "service_type_id": pa.array(services.ids[job.service_row[rows]], pa.int64()),
            "region_id": pa.array(job.region_id[rows], pa.int32()),
            "status": ac.pick(catalog.JOB_STATUSES, job.status[rows]),
            "priority": ac.pick(catalog.JOB_PRIORITIES, job.priority[rows]),
            "scheduled_at": ac.ts(job.scheduled[rows]),
            "started_at": ac.ts(job.started[rows], job.started[rows] >= 0),
            "completed_at": ac.ts(job.completed[rows], job.completed[rows] >= 0),
            "cancelled_at": ac.ts(job.cancelled[rows], job.cancelled[rows] >= 0),
            "total_amount_cents": pa.array(job.total_cents[rows], pa.int64()),
            "notes": ac.pick(vocab.JOB_NOTES, notes.index[rows], notes.has_note[rows]),
            "created_at": ac.ts(job.created[rows]),
            "updated_at": ac.ts(job.updated[rows]),
        }
    )


def line_items_table(items: LineItems, rows: slice = slice(None)) -> pa.Table:
    """The ``job_line_items`` rows (``rows``: a range of them, for loading in slices)."""
    return pa.table(
        {
            "line_item_id": pa.array(items.ids[rows], pa.int64()),
            "job_id": pa.array(items.job_id[rows], pa.int64()),
            "item_type": ac.pick(catalog.LINE_ITEM_TYPES, items.item_type[rows]),
            "description": items.description[rows],
            "quantity": ac.hundredths(items.quantity_hundredths[rows]),
            "unit_price_cents": pa.array(items.unit_price_cents[rows], pa.int64()),
            "amount_cents": pa.array(items.amount_cents[rows], pa.int64()),
            "created_at": ac.ts(items.created[rows]),
            "updated_at": ac.ts(items.created[rows]),
        }
    )
