"""The local Fivetran's schema-config endpoints, in process: Fivetran's shapes, defaults, refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from standins.fivetran.api import build_app
from standins.fivetran.batch import Column, Extract, TableBatch
from standins.fivetran.config import SourceSettings
from standins.fivetran.schema_config import apply_to_extract
from standins.fivetran.service import FivetranService

AUTH = ("k", "s")
SOURCES = SourceSettings(jobs_db_dsns={"bu_north": "postgresql://unused"})


def start(home: Path) -> FivetranService:
    return FivetranService(home, SOURCES, home / "w.duckdb", autostart=False)


@pytest.fixture
def service(tmp_path: Path) -> FivetranService:
    return start(tmp_path / "ft")


@pytest.fixture
def api(service: FivetranService) -> Iterator[TestClient]:
    client = TestClient(build_app(service, *AUTH), base_url="http://local/v1/")
    client.auth = AUTH
    yield client


def schemas(api: TestClient, cid: str) -> dict[str, Any]:
    response = api.get(f"connections/{cid}/schemas")
    assert response.status_code == 200
    return dict(response.json()["data"])


def test_connections_start_paused_with_the_source_defaults(api: TestClient) -> None:
    for cid in ("postgres_jobs_bu_north", "salesforce_crm", "sheets_targets"):
        assert api.get(f"connections/{cid}").json()["data"]["paused"] is True
        config = schemas(api, cid)
        assert config["schema_change_handling"] == "ALLOW_ALL"
        for schema in config["schemas"].values():
            for table in schema["tables"].values():
                assert table["enabled"] is True
                assert not any(c["hashed"] for c in table["columns"].values())
                assert all(c["enabled"] for c in table["columns"].values())


def test_column_and_table_changes_answer_on_both_paths_and_survive_a_restart(
    api: TestClient, service: FivetranService, tmp_path: Path
) -> None:
    patched = api.patch(
        "connectors/salesforce_crm/schemas/salesforce/tables/Contact/columns/Email",
        json={"hashed": True},
    )
    assert patched.status_code == 200
    assert patched.json()["message"] == "Column config has been updated"
    tables = patched.json()["data"]["schemas"]["salesforce"]["tables"]
    assert tables["Contact"]["columns"]["Email"]["hashed"] is True
    excluded = api.patch(
        "connections/salesforce_crm/schemas/salesforce/tables/Case", json={"enabled": False}
    )
    assert excluded.json()["data"]["schemas"]["salesforce"]["tables"]["Case"]["enabled"] is False
    effective = service.effective("salesforce_crm")
    assert effective.tables["Contact"].hashed == ("Email",)
    assert effective.tables["Case"].enabled is False
    again = start(tmp_path / "ft")
    assert again.effective("salesforce_crm").tables["Contact"].hashed == ("Email",)
    assert again.effective("salesforce_crm").tables["Case"].enabled is False


def test_a_system_table_refuses_table_level_changes_but_not_its_columns(api: TestClient) -> None:
    path = "connections/telematics_gps/schemas/telematics/tables/gps_events"
    table = schemas(api, "telematics_gps")["schemas"]["telematics"]["tables"]["gps_events"]
    assert table["enabled_patch_settings"] == {"allowed": False, "reason_code": "SYSTEM_TABLE"}
    for body in ({"enabled": False}, {"sync_mode": "SOFT_DELETE"}):
        refused = api.patch(path, json=body)
        assert refused.status_code == 409
        assert refused.json() == {
            "code": "IllegalState",
            "message": "Cannot modify read-only table telematics.gps_events config",
        }
    tree = {"schemas": {"telematics": {"tables": {"gps_events": {"enabled": False}}}}}
    assert api.patch("connectors/telematics_gps/schemas", json=tree).status_code == 409
    columns_only = api.patch(path, json={"columns": {"device_id": {"hashed": True}}})
    assert columns_only.status_code == 200
    assert schemas(api, "telematics_gps")["schemas"]["telematics"]["tables"]["gps_events"][
        "enabled"
    ]


def test_refusals_and_unknown_names_change_nothing(api: TestClient) -> None:
    base = "connections/postgres_jobs_bu_north/schemas"
    before = schemas(api, "postgres_jobs_bu_north")
    pk = api.patch(f"{base}/public/tables/customers/columns/customer_id", json={"enabled": False})
    assert (pk.status_code, pk.json()["code"]) == (409, "IllegalState")
    assert api.patch(f"{base}/public/tables/nope", json={"enabled": False}).json() == {
        "code": "NotFound_Table",
        "message": "Table 'nope' doesn't exist",
    }
    assert api.patch(f"{base}/nope/tables/jobs", json={"enabled": False}).status_code == 404
    column = api.patch(f"{base}/public/tables/jobs/columns/nope", json={"hashed": True})
    assert column.json()["code"] == "NotFound_Column"
    bad = api.patch(f"{base}/public/tables/jobs", json={"enabled": "no"})
    assert bad.json() == {"code": "InvalidInput", "message": "enabled must be a boolean"}
    tree = {
        "schemas": {
            "public": {
                "tables": {"jobs": {"enabled": False}, "nope": {"enabled": False}},
            }
        }
    }
    assert api.patch(base, json=tree).status_code == 404
    assert schemas(api, "postgres_jobs_bu_north") == before


def test_schema_change_handling(api: TestClient, service: FivetranService) -> None:
    path = "connections/quickbooks_finance/schemas"
    changed = api.patch(path, json={"schema_change_handling": "BLOCK_ALL"})
    assert changed.json()["data"]["schema_change_handling"] == "BLOCK_ALL"
    assert changed.json()["data"]["enable_new_by_default"] is False
    assert service.effective("quickbooks_finance").schema_change_handling == "BLOCK_ALL"
    bad = api.patch(path, json={"schema_change_handling": "SOMETIMES"})
    assert bad.status_code == 400 and "ALLOW_COLUMNS" in bad.json()["message"]


def _batch(name: str, columns: list[str]) -> TableBatch:
    return TableBatch(
        source_name=name,
        dest_name=name,
        mode="upsert",
        columns=[Column(c, c, "text", "VARCHAR") for c in columns],
        primary_key=[columns[0]],
        rows=pa.table({c: ["v"] for c in columns}),
    )


def test_blocked_columns_and_new_tables_follow_their_settings(service: FivetranService) -> None:
    settings = {
        "tables": {
            "jobs": {"columns": {"notes": {"enabled": False}}},
            "equipment": {"columns": {"serial": {"hashed": True}}},
            "scratch": {"enabled": False},
        }
    }
    extract = Extract(
        tables=[
            _batch("jobs", ["job_id", "notes", "status"]),
            _batch("equipment", ["id", "serial"]),
            _batch("scratch", ["id"]),
        ]
    )
    conn = service.connector("postgres_jobs_bu_north")
    seen = apply_to_extract(extract, conn, settings)
    assert [b.source_name for b in extract.tables] == ["jobs", "equipment"]
    assert [c.source for c in extract.tables[0].columns] == ["job_id", "status"]
    assert [c.hashed for c in extract.tables[1].columns] == [False, True]
    assert [row[0] for row in seen["jobs"]] == ["job_id", "notes", "status"]
    assert "scratch" not in seen
