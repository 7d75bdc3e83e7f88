"""The people of a tenant's Jobs DB: technicians with their shifts, and customers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from standins.sources import arrowcols as ac
from standins.sources import catalog, vocab
from standins.sources.config import (
    DAY_US,
    HOUR_US,
    REGION_WEIGHTS,
    Volumes,
    start_us,
    start_weekday,
)
from standins.sources.jobsdb.tenant import Tenant
from standins.sources.rand import choice, stream
from standins.sources.timeline import tz_index

SHIFT_STARTS_MIN = np.array([6 * 60, 7 * 60, 8 * 60, 9 * 60, 10 * 60])
SHIFT_START_WEIGHTS = [0.1, 0.3, 0.35, 0.2, 0.05]
OFF_DAY_PATTERNS = np.array([[5, 6], [6, 0], [4, 5]])  # weekday numbers, Monday = 0
OFF_DAY_WEIGHTS = [0.7, 0.15, 0.15]


@dataclass
class Technicians:
    """A tenant's technicians as arrays; also what the GPS generator needs."""

    ids: np.ndarray
    region_id: np.ndarray
    tz: np.ndarray  # index into timeline.TIME_ZONES
    shift_start_min: np.ndarray
    shift_len_min: np.ndarray
    off_days: np.ndarray  # (n, 2) weekdays off
    hire_day: np.ndarray  # days since the start (negative: hired before)

    def works(self, day: np.ndarray, tech: np.ndarray) -> np.ndarray:
        """Whether technician rows ``tech`` work on ``day`` (days since the start)."""
        weekday = (start_weekday() + np.asarray(day)) % 7
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
    created = start_us() + hire_day * DAY_US + 14 * HOUR_US
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
        start_us() - (rng.random(n) * 3 * 365 * DAY_US).astype(np.int64),
        start_us() + (rng.random(n) * (now_us - start_us())).astype(np.int64),
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
