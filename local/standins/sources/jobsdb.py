"""The Jobs DB of one tenant: service types, technicians, customers, jobs and line items.

Jobs are laid out the way a dispatcher fills a board: each technician works five days a week,
gets one to five jobs per working day, one after another inside the shift (local time), with
travel in between. Everything else about a job (when it is dispatched, started, completed,
cancelled, rescheduled) comes from :mod:`standins.sources.timeline`, so the change stream
continues each job's story exactly where the history left it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from standins.sources import arrowcols as ac
from standins.sources import catalog, vocab
from standins.sources.config import (
    BOOKING_HORIZON_DAYS,
    DAY_US,
    EPOCH_US,
    HOUR_US,
    MINUTE_US,
    REGION_WEIGHTS,
    Volumes,
    tenant_index,
    tenant_regions,
)
from standins.sources.rand import choice, stream
from standins.sources.timeline import fate, local_to_utc_us, plan, tz_index

STATUS = {name: i for i, name in enumerate(catalog.JOB_STATUSES)}
LABOR, PART, FEE, DISCOUNT = range(4)
TRIP_FEE_CENTS = 4_900
SHIFT_STARTS_MIN = np.array([6 * 60, 7 * 60, 8 * 60, 9 * 60, 10 * 60])
SHIFT_START_WEIGHTS = [0.1, 0.3, 0.35, 0.2, 0.05]
OFF_DAY_PATTERNS = np.array([[5, 6], [6, 0], [4, 5]])  # weekday numbers, Monday = 0
OFF_DAY_WEIGHTS = [0.7, 0.15, 0.15]
EPOCH_WEEKDAY = 3  # 2026-01-01 is a Thursday


@dataclass
class Tenant:
    """Static facts about one tenant that every generator needs."""

    name: str
    index: int
    regions: tuple[catalog.Region, ...]
    price_multiplier: float
    labor_rate_cents: int

    @property
    def id_base(self) -> int:
        """First id of the tenant's range (exclusive)."""
        return self.index * catalog.ID_OFFSET


def tenant_facts(seed: int, name: str, tenants: tuple[str, ...]) -> Tenant:
    """The tenant's regions and price level (a regional business prices a little differently)."""
    rng = stream(seed, tenant_index(name), "tenant")
    return Tenant(
        name=name,
        index=tenant_index(name),
        regions=tenant_regions(name, tenants),
        price_multiplier=float(np.round(rng.uniform(0.92, 1.12), 3)),
        labor_rate_cents=int(rng.integers(95, 146) * 100),
    )


# ---------------------------------------------------------------------------------------------
# service types
# ---------------------------------------------------------------------------------------------


@dataclass
class ServiceTypes:
    """A tenant's service catalog (numpy views used by the job generator)."""

    ids: np.ndarray
    category: np.ndarray  # index into CATEGORIES
    price_cents: np.ndarray
    duration_min: np.ndarray
    active: np.ndarray
    weight: np.ndarray


CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(c for _, c, _, _ in catalog.SERVICE_CATALOG))


def service_types(seed: int, tenant: Tenant) -> tuple[ServiceTypes, pa.Table]:
    """All catalog services for the tenant, priced by its multiplier; one of them retired."""
    rng = stream(seed, tenant.index, "service_types")
    n = len(catalog.SERVICE_CATALOG)
    names = [s[0] for s in catalog.SERVICE_CATALOG]
    cats = np.array([CATEGORIES.index(s[1]) for s in catalog.SERVICE_CATALOG])
    price = np.array(
        [round(s[2] * tenant.price_multiplier / 100) * 100 for s in catalog.SERVICE_CATALOG]
    )
    duration = np.array([s[3] for s in catalog.SERVICE_CATALOG])
    active = np.ones(n, dtype=bool)
    active[int(rng.integers(0, n))] = False
    popularity = 1.0 / np.sqrt(price / 10_000) * rng.uniform(0.6, 1.4, n)
    weight = np.where(active, popularity, 0.0)
    ids = tenant.id_base + 1 + np.arange(n)
    created = np.full(n, EPOCH_US - 400 * DAY_US)
    updated = np.where(active, created, EPOCH_US - 10 * DAY_US)
    table = pa.table(
        {
            "service_type_id": pa.array(ids, pa.int64()),
            "service_name": pa.array(names),
            "category": ac.pick(CATEGORIES, cats),
            "base_price_cents": pa.array(price, pa.int64()),
            "estimated_duration_minutes": pa.array(duration, pa.int32()),
            "is_active": pa.array(active),
            "created_at": ac.ts(created),
            "updated_at": ac.ts(updated),
        }
    )
    return ServiceTypes(ids, cats, price, duration, active, weight), table


# ---------------------------------------------------------------------------------------------
# technicians
# ---------------------------------------------------------------------------------------------


@dataclass
class Technicians:
    """A tenant's technicians as arrays; also what the GPS generator needs."""

    ids: np.ndarray
    region_id: np.ndarray
    tz: np.ndarray  # index into timeline.TIME_ZONES
    shift_start_min: np.ndarray
    shift_len_min: np.ndarray
    off_days: np.ndarray  # (n, 2) weekdays off
    hire_day: np.ndarray  # days since EPOCH (negative: hired before)

    def works(self, day: np.ndarray, tech: np.ndarray) -> np.ndarray:
        """Whether technician rows ``tech`` work on ``day`` (days since EPOCH)."""
        weekday = (EPOCH_WEEKDAY + np.asarray(day)) % 7
        off = (self.off_days[tech, 0] == weekday) | (self.off_days[tech, 1] == weekday)
        return ~off & (self.hire_day[tech] <= day)


def people(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Random first- and last-name indices."""
    return rng.integers(0, len(vocab.FIRST_NAMES), n), rng.integers(0, len(vocab.LAST_NAMES), n)


def phone_numbers(rng: np.random.Generator, states: np.ndarray) -> pa.Array:
    """US-format phone numbers with the state's area code."""
    area = np.array([vocab.AREA_CODES[s] for s in states]) if len(states) else np.zeros(0, int)
    return ac.join(
        "(",
        ac.num_str(area, 3),
        ") ",
        ac.num_str(rng.integers(200, 1000, len(states)), 3),
        "-",
        ac.num_str(rng.integers(0, 10_000, len(states)), 4),
    )


def technicians(seed: int, tenant: Tenant, vol: Volumes) -> tuple[Technicians, pa.Table]:
    """Technicians spread over the tenant's regions by demand; most hired before the history."""
    rng = stream(seed, tenant.index, "technicians")
    n = vol.technicians
    weights = [REGION_WEIGHTS[r.region_id] for r in tenant.regions]
    reg_pos = np.sort(choice(rng.random(n), weights))
    region_ids = np.array([tenant.regions[i].region_id for i in reg_pos])
    tzs = tz_index([tenant.regions[i].time_zone for i in reg_pos])
    first, last = people(rng, n)
    skill = choice(rng.random(n), [0.35, 0.45, 0.2])
    start = SHIFT_STARTS_MIN[choice(rng.random(n), SHIFT_START_WEIGHTS)]
    length = np.where(rng.random(n) < 0.8, 8 * 60, 9 * 60)
    off = OFF_DAY_PATTERNS[choice(rng.random(n), OFF_DAY_WEIGHTS)]
    hired_before = rng.random(n) < 0.88
    hire_day = np.where(hired_before, -rng.integers(30, 9 * 365, n), rng.integers(0, 80, n))
    ids = tenant.id_base + 1 + np.arange(n)
    first_s = ac.pick(vocab.FIRST_NAMES, first)
    last_s = ac.pick(vocab.LAST_NAMES, last)
    states = np.array([tenant.regions[i].state_codes[0] for i in reg_pos])
    created = EPOCH_US + hire_day * DAY_US + 14 * HOUR_US
    table = pa.table(
        {
            "technician_id": pa.array(ids, pa.int64()),
            "first_name": first_s,
            "last_name": last_s,
            "email": ac.lower(
                ac.join(
                    ac.strip_spaces(first_s),
                    ".",
                    ac.strip_spaces(last_s),
                    ac.num_str(ids % 1000),
                    "@",
                    tenant.name.replace("_", ""),
                    ".fieldforce.example",
                )
            ),
            "phone": phone_numbers(rng, states),
            "region_id": pa.array(region_ids, pa.int32()),
            "home_time_zone": pa.array([tenant.regions[i].time_zone for i in reg_pos]),
            "skill_level": ac.pick(catalog.SKILL_LEVELS, skill),
            "hire_date": ac.date(created),
            "shift_start": ac.time_of_day(start),
            "shift_end": ac.time_of_day(start + length),
            "is_active": pa.array(np.ones(n, dtype=bool)),
            "created_at": ac.ts(created),
            "updated_at": ac.ts(created),
        }
    )
    return Technicians(ids, region_ids, tzs, start, length, off, hire_day), table


# ---------------------------------------------------------------------------------------------
# customers
# ---------------------------------------------------------------------------------------------


@dataclass
class Customers:
    """A tenant's customers (id order = creation order)."""

    ids: np.ndarray
    region_id: np.ndarray
    created: np.ndarray
    commercial: np.ndarray
    first: np.ndarray
    last: np.ndarray
    state: np.ndarray
    city: np.ndarray
    company_suffix: np.ndarray
    deleted: np.ndarray  # microseconds, -1 = not deleted

    def company_name(self) -> pa.Array:
        """Business names for commercial customers (``Rivera Dental Group``)."""
        return ac.join(
            ac.pick(vocab.LAST_NAMES, self.last),
            " ",
            ac.pick(vocab.COMPANY_SUFFIXES, self.company_suffix),
        )


def customers(seed: int, tenant: Tenant, vol: Volumes, now_us: int) -> Customers:
    """Customers by region; three quarters predate the history, the rest sign up during it."""
    rng = stream(seed, tenant.index, "customers")
    n = vol.customers
    weights = [REGION_WEIGHTS[r.region_id] for r in tenant.regions]
    reg_pos = choice(rng.random(n), weights)
    before = rng.random(n) < 0.75
    created = np.where(
        before,
        EPOCH_US - (rng.random(n) * 3 * 365 * DAY_US).astype(np.int64),
        EPOCH_US + (rng.random(n) * (now_us - EPOCH_US)).astype(np.int64),
    )
    order = np.argsort(created, kind="stable")
    created, reg_pos = created[order], reg_pos[order]
    first, last = people(rng, n)
    state = np.array(
        [
            tenant.regions[p].state_codes[i % len(tenant.regions[p].state_codes)]
            for p, i in zip(reg_pos, rng.integers(0, 12, n), strict=True)
        ]
    )
    city = np.array(
        [
            vocab.CITIES[s][i % len(vocab.CITIES[s])]
            for s, i in zip(state, rng.integers(0, 60, n), strict=True)
        ]
    )
    return Customers(
        ids=tenant.id_base + 1 + np.arange(n),
        region_id=np.array([tenant.regions[p].region_id for p in reg_pos]),
        created=created,
        commercial=rng.random(n) < 0.15,
        first=first,
        last=last,
        state=state,
        city=city,
        company_suffix=rng.integers(0, len(vocab.COMPANY_SUFFIXES), n),
        deleted=np.full(n, -1, dtype=np.int64),
    )


def customers_table(rng: np.random.Generator, cust: Customers) -> pa.Table:
    """The ``customers`` rows: contact details, address, and the Salesforce account id."""
    n = len(cust.ids)
    first_s = ac.pick(vocab.FIRST_NAMES, cust.first)
    last_s = ac.pick(vocab.LAST_NAMES, cust.last)
    company = cust.company_name()
    personal = ac.join(
        ac.strip_spaces(first_s),
        ".",
        ac.strip_spaces(last_s),
        ac.num_str(cust.ids % 997),
        "@",
        ac.pick(vocab.EMAIL_DOMAINS, rng.integers(0, len(vocab.EMAIL_DOMAINS), n)),
    )
    business = ac.join(ac.strip_spaces(first_s), "@", ac.strip_spaces(company), ".example")
    email = ac.lower(
        pa.array(
            np.where(
                cust.commercial,
                business.to_numpy(zero_copy_only=False),
                personal.to_numpy(zero_copy_only=False),
            )
        )
    )
    address = ac.join(
        ac.num_str(rng.integers(1, 9900, n)),
        " ",
        ac.pick(vocab.STREET_NAMES, rng.integers(0, len(vocab.STREET_NAMES), n)),
        " ",
        ac.pick(vocab.STREET_SUFFIXES, rng.integers(0, len(vocab.STREET_SUFFIXES), n)),
    )
    zips = np.array([vocab.ZIP_PREFIX[s] for s in cust.state]) * 100 + rng.integers(0, 100, n)
    tz_names = {r.region_id: r.time_zone for r in catalog.REGIONS}
    deleted = cust.deleted >= 0
    return pa.table(
        {
            "customer_id": pa.array(cust.ids, pa.int64()),
            "first_name": first_s,
            "last_name": last_s,
            "email": email,
            "phone": phone_numbers(rng, cust.state),
            "address_line1": address,
            "city": pa.array(cust.city),
            "state": pa.array(cust.state),
            "postal_code": ac.num_str(zips, 5),
            "region_id": pa.array(cust.region_id, pa.int32()),
            "time_zone": pa.array([tz_names[r] for r in cust.region_id]),
            "customer_type": ac.pick(
                ("residential", "commercial"), cust.commercial.astype(np.int32)
            ),
            "sf_account_id": ac.ids("001", cust.ids),
            "deleted_at": ac.ts(cust.deleted, deleted),
            "created_at": ac.ts(cust.created),
            "updated_at": ac.ts(np.where(deleted, cust.deleted, cust.created)),
        }
    )


# ---------------------------------------------------------------------------------------------
# jobs and line items
# ---------------------------------------------------------------------------------------------


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
    """Jobs of every technician-day from EPOCH to two weeks past ``now`` that are booked by now."""
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
    labor_desc = ac.join("Labor: ", ac.pick(svc_names, job.service_row[job_row]))
    part_desc = ac.join("Part: ", ac.pick(part_names, part_idx))
    fixed = ac.pick(("", "", "Trip charge", "Discount: loyalty 10%"), kind)
    desc = pa.array(
        np.select(
            [labor, part],
            [labor_desc.to_numpy(zero_copy_only=False), part_desc.to_numpy(zero_copy_only=False)],
            fixed.to_numpy(zero_copy_only=False),
        )
    )

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


def jobs_table(job: Jobs, services: ServiceTypes, notes_rng: np.random.Generator) -> pa.Table:
    """The ``jobs`` rows."""
    n = len(job.ids)
    has_note = notes_rng.random(n) < 0.35
    return pa.table(
        {
            "job_id": pa.array(job.ids, pa.int64()),
            "customer_id": pa.array(job.customer_id, pa.int64()),
            "technician_id": pa.array(job.technician_id, pa.int64()),
            "service_type_id": pa.array(services.ids[job.service_row], pa.int64()),
            "region_id": pa.array(job.region_id, pa.int32()),
            "status": ac.pick(catalog.JOB_STATUSES, job.status),
            "priority": ac.pick(catalog.JOB_PRIORITIES, job.priority),
            "scheduled_at": ac.ts(job.scheduled),
            "started_at": ac.ts(job.started, job.started >= 0),
            "completed_at": ac.ts(job.completed, job.completed >= 0),
            "cancelled_at": ac.ts(job.cancelled, job.cancelled >= 0),
            "total_amount_cents": pa.array(job.total_cents, pa.int64()),
            "notes": ac.pick(
                vocab.JOB_NOTES, notes_rng.integers(0, len(vocab.JOB_NOTES), n), has_note
            ),
            "created_at": ac.ts(job.created),
            "updated_at": ac.ts(job.updated),
        }
    )


def line_items_table(items: LineItems) -> pa.Table:
    """The ``job_line_items`` rows."""
    return pa.table(
        {
            "line_item_id": pa.array(items.ids, pa.int64()),
            "job_id": pa.array(items.job_id, pa.int64()),
            "item_type": ac.pick(catalog.LINE_ITEM_TYPES, items.item_type),
            "description": items.description,
            "quantity": ac.hundredths(items.quantity_hundredths),
            "unit_price_cents": pa.array(items.unit_price_cents, pa.int64()),
            "amount_cents": pa.array(items.amount_cents, pa.int64()),
            "created_at": ac.ts(items.created),
            "updated_at": ac.ts(items.created),
        }
    )
