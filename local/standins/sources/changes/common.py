"""What every system's part of the change stream shares: the step grid, id sequences, rates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import numpy as np
import psycopg

from standins.sources import jobsdb
from standins.sources.config import DAY_US, MINUTE_US, STEP_MINUTES, from_us, start_us, volumes
from standins.sources.state import EstateState

STEP_US = STEP_MINUTES * MINUTE_US
S = jobsdb.STATUS
LINE_ITEM_MAX = "select max(line_item_id) from public.job_line_items"
MIN_EVENTS_PER_STEP = 0.05
"""Floor on the rate of rare events so a tiny test estate still sees every kind of change."""


@dataclass(frozen=True)
class Static:
    """A tenant's never-changing facts, rebuilt from the seed."""

    tenant: jobsdb.Tenant
    services: jobsdb.ServiceTypes
    techs: jobsdb.Technicians


def statics(seed: int, scale: float, tenants: tuple[str, ...]) -> dict[str, Static]:
    """Service catalogs and technicians of every tenant (cached per process and start)."""
    return _statics(seed, scale, tenants, start_us())


@lru_cache(maxsize=4)
def _statics(
    seed: int, scale: float, tenants: tuple[str, ...], origin_us: int
) -> dict[str, Static]:
    """:func:`statics` of the estate starting at ``origin_us`` (the current start)."""
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


def sql_us(column: str) -> str:
    """SQL for a timestamp column as int64 microseconds since 1970 UTC."""
    return f"(extract(epoch from {column}) * 1000000)::bigint"


def event_rate(per_day: float, share: float) -> float:
    """Events per step for a daily ``share`` of ``per_day``, never below the floor."""
    return max(per_day * share * STEP_US / DAY_US, MIN_EVENTS_PER_STEP)


def counter(state: EstateState, key: str, conn: psycopg.Connection, query: str) -> int:
    """The last id handed out in sequence ``key``, seeded once from the data (``query``)."""
    if key not in state.counters:
        state.counters[key] = int(conn.execute(query).fetchone()[0] or 0)
    return state.counters[key]


def next_id(state: EstateState, key: str, conn: psycopg.Connection, query: str, count: int) -> int:
    """Reserve ``count`` ids of sequence ``key`` and return the first (ids are never reused)."""
    first = counter(state, key, conn, query) + 1
    state.counters[key] += count
    return first
