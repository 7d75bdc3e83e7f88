"""Multi-tenant lineage: every business unit's landed Jobs DB tables feed the jobs staging.

The Jobs DB lands one schema per business unit (``fivetran_postgres_<tenant>``). dbt's
``union_tenant_relations`` macro discovers those schemas at run time and its sources name one
template tenant; here the graph discovers them from Fivetran at load time, so a sync of any
tenant rebuilds what reads the union, and a new tenant needs no code change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import dagster as dg

TENANT_SCHEMA_PREFIX = "fivetran_postgres_"


def tenant_tables(keys: Iterable[dg.AssetKey]) -> dict[str, list[dg.AssetKey]]:
    """``table -> [fivetran/<tenant schema>/<table>, ...]`` over all landed tenant schemas."""
    result: dict[str, list[dg.AssetKey]] = {}
    for key in keys:
        if len(key.path) == 3 and key.path[0] == "fivetran":
            if key.path[1].startswith(TENANT_SCHEMA_PREFIX):
                result.setdefault(key.path[2], []).append(key)
    return {table: sorted(found, key=str) for table, found in result.items()}


def with_all_tenants(
    keys: Iterable[dg.AssetKey],
) -> Callable[[dg.AssetSpec], dg.AssetSpec]:
    """A spec mapper adding every tenant's table wherever one tenant's table is a dependency."""
    by_table = tenant_tables(keys)

    def add_tenants(spec: dg.AssetSpec) -> dg.AssetSpec:
        extra: list[dg.AssetKey] = []
        have = {dep.asset_key for dep in spec.deps}
        for dep in spec.deps:
            path = dep.asset_key.path
            if (
                len(path) == 3
                and path[0] == "fivetran"
                and path[1].startswith(TENANT_SCHEMA_PREFIX)
            ):
                extra += [key for key in by_table.get(path[2], []) if key not in have]
        if not extra:
            return spec
        return spec.merge_attributes(deps=sorted(set(extra), key=str))

    return add_tenants
