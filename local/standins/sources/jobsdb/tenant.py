"""A tenant's fixed facts: its regions, price level and service catalog."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from standins.sources import arrowcols as ac
from standins.sources import catalog
from standins.sources.config import DAY_US, start_us, tenant_index, tenant_regions
from standins.sources.rand import stream

CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(c for _, c, _, _ in catalog.SERVICE_CATALOG))


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


@dataclass
class ServiceTypes:
    """A tenant's service catalog (numpy views used by the job generator)."""

    ids: np.ndarray
    category: np.ndarray  # index into CATEGORIES
    price_cents: np.ndarray
    duration_min: np.ndarray
    active: np.ndarray
    weight: np.ndarray


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
    created = np.full(n, start_us() - 400 * DAY_US)
    updated = np.where(active, created, start_us() - 10 * DAY_US)
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
