"""A governed local warehouse: the generated source estate synced by the local Fivetran (PII
hashed at sync, as in production) and built by dbt, whose on-run-end hook writes the governed
layer; plus what the checks compare against (the base marts, the clear PII of the sources)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from testkit.builder import Stack, synced_estate
from testkit.landed import clear_pii_values

from tests.integration.dbt.conftest import PROJECT_DIR, DbtProject, dbt_env

MAPPING_SEED = PROJECT_DIR / "seeds" / "security" / "user_region_access.csv"


@dataclass(frozen=True)
class GovernedWarehouse:
    """A built warehouse and the facts the governance checks need."""

    warehouse: Path
    project: DbtProject
    clear_pii: frozenset[str]
    sources: Stack


def user_regions() -> dict[str, set[int]]:
    """The seed's mapping: BI user -> the regions they may see."""
    mapping: dict[str, set[int]] = {}
    with MAPPING_SEED.open() as f:
        for row in csv.DictReader(f):
            mapping.setdefault(row["sigma_email"], set()).add(int(row["region_id"]))
    return mapping


@pytest.fixture(scope="session")
def governed_warehouse() -> Iterator[GovernedWarehouse]:
    with synced_estate("governance-") as sources:
        assert sources.root is not None
        project = DbtProject(
            sources.root / "dbt",
            dbt_env(FIELDFORCE_WAREHOUSE_PATH=str(sources.warehouse), DBT_TARGET="local"),
        )
        project.run("build")
        yield GovernedWarehouse(
            sources.warehouse, project, frozenset(clear_pii_values(sources)), sources
        )
