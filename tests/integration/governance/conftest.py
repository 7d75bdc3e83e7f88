"""A governed local warehouse: the generated source estate synced by the local Fivetran (PII
hashed at sync, as in production) and built by dbt, whose on-run-end hook writes the governed
layer; plus what the checks compare against (the base marts, the clear PII of the sources)."""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from standins.fivetran.config import SourceSettings
from standins.fivetran.service import FivetranService, SyncRequest
from standins.sources.estate import Estate
from testkit.stack import Stack, clear_pii_values

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
    root = Path(tempfile.mkdtemp(prefix="governance-"))
    root.chmod(0o711)  # PostgreSQL's server account must reach its data dir
    estate = Estate(root / "home", scale=0.0002)
    estate.start()
    service = None
    try:
        estate.generate()
        info = estate.connection_info()
        warehouse = root / "warehouse.duckdb"
        service = FivetranService(
            root / "fivetran", SourceSettings.from_mapping(info), warehouse, autostart=False
        )
        for connector_id in service.account.connectors:
            entry = service.run_sync(SyncRequest(connector_id, reason="governance test"))
            assert entry["status"] == "SUCCESSFUL", entry
        sources = Stack(
            home=root,
            port=0,
            warehouse=warehouse,
            jobs_dsns=info["jobs_db_dsns"],
            saas_dsn=info["saas_dsn"],
            telematics_dir=Path(info["telematics_dir"]),
            sheets_dir=Path(info["sheets_dir"]),
        )
        project = DbtProject(
            root / "dbt", dbt_env(FIELDFORCE_WAREHOUSE_PATH=str(warehouse), DBT_TARGET="local")
        )
        project.run("build")
        yield GovernedWarehouse(warehouse, project, frozenset(clear_pii_values(sources)), sources)
    finally:
        if service is not None:
            service.stop()
        estate.stop()
        shutil.rmtree(root, ignore_errors=True)
