"""Connector configuration as code: the desired file, the pure diff, apply's order and refusals."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
import yaml
from standins.sources import catalog

from analytics_platform.ingest.connectors.api import FivetranApi, FivetranApiError
from analytics_platform.ingest.connectors.apply import apply, apply_connection
from analytics_platform.ingest.connectors.cli import redact, run
from analytics_platform.ingest.connectors.desired import (
    DEFAULT_CONFIG_PATH,
    DesiredConfigError,
    load_desired,
    parse_desired,
)
from analytics_platform.ingest.connectors.plan import (
    diff_account,
    diff_connection,
    render_plan,
)

DESIRED = load_desired()
KEY, SECRET = "key-5f1e0c", "secret-9a7d3b2c"


def test_desired_file_covers_the_catalog_with_the_design_settings() -> None:
    frequencies = {}
    for system in catalog.SYSTEMS:
        schema = catalog.landing_schema(system.name, "bu_east")
        spec = DESIRED.for_schema(schema)
        assert spec is not None, schema
        assert spec.source_schema == system.schema
        assert set(spec.tables) == {t.name for t in system.tables}, system.name
        for table in system.tables:
            pii = {c.name for c in table.columns if c.pii}
            assert set(spec.tables[table.name].hashed) == pii, f"{system.name}.{table.name}"
        frequencies[system.name] = spec.sync_frequency
        assert spec.schema_change_handling == "ALLOW_ALL" and not spec.paused
    assert frequencies == {
        "jobs_db": 15,
        "salesforce": 60,
        "quickbooks": 360,
        "servicetitan": 30,
        "telematics": 60,
        "sheets": 1440,
    }
    excluded = {
        (c.source_schema, t)
        for c in DESIRED.connectors
        for t, s in c.tables.items()
        if not s.enabled
    }
    assert excluded == {("salesforce", "Case")}
    assert DESIRED.for_schema("fivetran_postgres_bu_north") is DESIRED.for_schema(
        "fivetran_postgres_bu_south"
    )
    assert DESIRED.for_schema("fivetran_postgres_") is None


def _raw() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r["connectors"][1]["tables"]["Case"].pop("why"), "excluded table needs `why`"),
        (lambda r: r["connectors"][0].update(sync_frequency=7), "sync_frequency must be one of"),
        (lambda r: r["connectors"][0].update(hashd=["x"]), "hashd"),
        (
            lambda r: r["connectors"][0]["tables"]["customers"].update(
                blocked=["email"], blocked_why="x"
            ),
            "both hashed and blocked",
        ),
        (lambda r: r["connectors"][0].update(schema_change_handling="SOME"), "ALLOW_ALL"),
        (lambda r: r["connectors"].append(copy.deepcopy(r["connectors"][2])), "configured twice"),
    ],
)
def test_a_bad_desired_file_fails_naming_the_key(edit: Any, message: str) -> None:
    raw = _raw()
    edit(raw)
    with pytest.raises(DesiredConfigError, match=message):
        parse_desired(raw)


# ------------------------------------------------------------------------ the account as read


def connection(cid: str, schema: str, service: str, **settings: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "schema": schema,
        "service": service,
        "sync_frequency": settings.get("sync_frequency", 15),
        "schedule_type": settings.get("schedule_type", "auto"),
        "paused": settings.get("paused", True),
    }


def column(hashed: bool = False, enabled: bool = True, pk: bool = False) -> dict[str, Any]:
    return {
        "enabled": enabled,
        "hashed": hashed,
        "is_primary_key": pk,
        "enabled_patch_settings": {"allowed": not pk}
        | ({} if not pk else {"reason_code": "SYSTEM_COLUMN"}),
    }


def jobs_schema_config(**tables: dict[str, Any]) -> dict[str, Any]:
    base: dict[str, Any] = {
        name: {"enabled": True, "enabled_patch_settings": {"allowed": True}, "columns": {}}
        for name in ("service_types", "customers", "technicians", "jobs", "job_line_items")
    }
    base["customers"]["columns"] = {
        "customer_id": column(pk=True),
        "email": column(),
        "phone": column(),
        "address_line1": column(),
    }
    base["technicians"]["columns"] = {"email": column(), "phone": column()}
    base.update(tables)
    return {"schema_change_handling": "ALLOW_ALL", "schemas": {"public": {"tables": base}}}


JOBS = DESIRED.for_schema("fivetran_postgres_bu_north")
assert JOBS is not None
JOBS_ONLY = DESIRED.model_copy(update={"connectors": (JOBS,)})


def test_a_new_connection_needs_its_pii_hashed_then_unpausing() -> None:
    conn = connection("c1", "fivetran_postgres_bu_north", "postgres")
    plan = diff_connection(JOBS, conn, jobs_schema_config())
    described = [c.describe("public") for c in plan.changes]
    assert described == [
        "column public.customers.email: hashed false -> true",
        "column public.customers.phone: hashed false -> true",
        "column public.customers.address_line1: hashed false -> true",
        "column public.technicians.email: hashed false -> true",
        "column public.technicians.phone: hashed false -> true",
        "connection: paused true -> false",
    ]
    assert plan.problems == ()


def test_a_configured_connection_has_no_changes() -> None:
    conn = connection("c1", "fivetran_postgres_bu_north", "postgres", paused=False)
    config = jobs_schema_config()
    for table, names in (
        ("customers", ("email", "phone", "address_line1")),
        ("technicians", ("email", "phone")),
    ):
        for name in names:
            config["schemas"]["public"]["tables"][table]["columns"][name]["hashed"] = True
    assert diff_connection(JOBS, conn, config).changes == ()


def test_every_setting_is_compared() -> None:
    conn = connection(
        "c1",
        "fivetran_postgres_bu_north",
        "postgres",
        paused=False,
        sync_frequency=60,
        schedule_type="manual",
    )
    config = jobs_schema_config()
    config["schema_change_handling"] = "BLOCK_ALL"
    tables = config["schemas"]["public"]["tables"]
    tables["jobs"]["enabled"] = False
    tables["jobs"]["columns"] = {"notes": column(hashed=True), "status": column(enabled=False)}
    for table, names in (
        ("customers", ("email", "phone", "address_line1")),
        ("technicians", ("email", "phone")),
    ):
        for name in names:
            tables[table]["columns"][name]["hashed"] = True
    fields = [
        (c.level, c.table, c.column, c.field, c.current, c.desired)
        for c in diff_connection(JOBS, conn, config).changes
    ]
    assert fields == [
        ("column", "jobs", "notes", "hashed", True, False),
        ("column", "jobs", "status", "enabled", False, True),
        ("table", "jobs", None, "enabled", False, True),
        ("schema_config", None, None, "schema_change_handling", "BLOCK_ALL", "ALLOW_ALL"),
        ("connection", None, None, "sync_frequency", 60, 15),
        ("connection", None, None, "schedule_type", "manual", "auto"),
    ]


def test_a_read_only_table_is_flagged_and_the_reason_kept() -> None:
    telematics = DESIRED.for_schema("fivetran_telematics")
    assert telematics is not None
    spec = telematics.model_copy(
        update={
            "tables": {
                "gps_events": telematics.tables["gps_events"].model_copy(
                    update={"enabled": False, "why": "test"}
                )
            }
        }
    )
    conn = connection("t1", "fivetran_telematics", "webhooks", paused=False, sync_frequency=60)
    config = {
        "schema_change_handling": "ALLOW_ALL",
        "schemas": {
            "telematics": {
                "tables": {
                    "gps_events": {
                        "enabled": True,
                        "enabled_patch_settings": {"allowed": False, "reason_code": "SYSTEM_TABLE"},
                    }
                }
            }
        },
    }
    (change,) = diff_connection(spec, conn, config).changes
    assert change.read_only == "SYSTEM_TABLE"
    assert change.describe("telematics") == (
        "table telematics.gps_events: enabled true -> false  (test)"
        "  [read-only in the account: SYSTEM_TABLE]"
    )


def test_unlisted_columns_follow_defaults_and_missing_ones_are_problems() -> None:
    conn = connection("c1", "fivetran_postgres_bu_north", "postgres", paused=False)
    config = jobs_schema_config()
    config["schemas"]["public"]["tables"]["technicians"]["columns"] = {}
    plan = diff_connection(JOBS, conn, config)
    assert {(c.table, c.column) for c in plan.changes if c.table == "technicians"} == {
        ("technicians", "email"),
        ("technicians", "phone"),
    }
    looked_up = {"technicians": {"email": column(hashed=True)}}
    plan = diff_connection(JOBS, conn, config, looked_up)
    assert plan.problems == ("column public.technicians.phone is not in the source table",)
    assert not [c for c in plan.changes if c.table == "technicians"]


def test_service_and_table_mismatches_are_problems() -> None:
    conn = connection("c1", "fivetran_postgres_bu_north", "mysql", paused=False)
    config = jobs_schema_config()
    del config["schemas"]["public"]["tables"]["jobs"]
    config["schemas"]["public"]["tables"]["audit"] = {"enabled": True}
    plan = diff_connection(JOBS, conn, config)
    assert plan.problems[0] == "service is 'mysql', fivetran.yaml says 'postgres'"
    assert "table public.jobs is not in the schema config" in plan.problems
    assert plan.unmanaged_tables == ("audit",)


def test_templates_expand_over_the_tenants_the_account_has() -> None:
    conns = [
        connection("n", "fivetran_postgres_bu_north", "postgres"),
        connection("w", "fivetran_postgres_bu_west", "postgres"),
        connection("x", "somebody_elses", "github"),
    ]
    plan = diff_account(DESIRED, conns, {"n": jobs_schema_config(), "w": jobs_schema_config()})
    assert [p.schema for p in plan.connections] == [
        "fivetran_postgres_bu_north",
        "fivetran_postgres_bu_west",
    ]
    assert plan.unmanaged == ("somebody_elses (x)",)
    assert "fivetran_salesforce" in plan.missing and plan.problems == len(plan.missing)
    text = render_plan(plan)
    assert text[-2] == "Plan: 12 change(s) on 2 connection(s)."
    assert "! fivetran_salesforce: no connection of the account lands in it" in text


def test_two_connections_in_one_schema_must_be_told_apart() -> None:
    conns = [connection(c, "fivetran_quickbooks", "quickbooks") for c in ("q1", "q2")]
    config = {"schema_change_handling": "ALLOW_ALL", "schemas": {"quickbooks": {"tables": {}}}}
    plan = diff_account(DESIRED, conns, {"q1": config, "q2": config})
    assert all("choose one group" in p.problems[0] for p in plan.connections)
    assert all(not p.changes for p in plan.connections)


# ------------------------------------------------------------------------------------ apply


class FakeAccount:
    """An in-memory account answering the API calls apply makes; refuses read-only tables."""

    def __init__(self) -> None:
        self.connection = connection("c1", "fivetran_postgres_bu_north", "postgres")
        self.config = jobs_schema_config()
        self.config["schemas"]["public"]["tables"]["jobs"]["enabled_patch_settings"] = {
            "allowed": False,
            "reason_code": "SYSTEM_TABLE",
        }
        self.calls: list[tuple[str, str]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v1/")
        self.calls.append((request.method, path))
        body = {} if not request.content else httpx.Response(200, content=request.content).json()
        tables = self.config["schemas"]["public"]["tables"]
        parts = path.split("/")
        if request.method == "GET" and path == "connections":
            return ok({"items": [self.connection]})
        if request.method == "GET" and parts[-1] == "schemas":
            return ok(self.config)
        if request.method == "GET":
            return ok(self.connection)
        if parts[-2:-1] == ["columns"]:
            tables[parts[-3]]["columns"].setdefault(parts[-1], column()).update(body)
        elif parts[-2:-1] == ["tables"]:
            if not tables[parts[-1]]["enabled_patch_settings"]["allowed"]:
                return httpx.Response(
                    409,
                    json={
                        "code": "IllegalState",
                        "message": f"Cannot modify read-only table public.{parts[-1]} config",
                    },
                )
            tables[parts[-1]].update(body)
        elif parts[-1] == "schemas":
            self.config.update(body)
        else:
            self.connection.update(body)
        return ok({})


def ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"code": "Success", "data": data})


def fake_api(account: FakeAccount) -> FivetranApi:
    client = httpx.Client(
        base_url="http://fivetran.test/v1/",
        transport=httpx.MockTransport(account.handler),
        auth=(KEY, SECRET),
    )
    return FivetranApi(client, attempts=3, max_wait_s=0)


def test_apply_converges_and_a_second_apply_changes_nothing() -> None:
    account = FakeAccount()
    first = apply(fake_api(account), JOBS_ONLY)
    assert first.ok and first.made == 6
    patches = [path for method, path in account.calls if method == "PATCH"]
    assert patches[-1] == "connections/c1"  # unpausing comes last
    assert all("/columns/" in p for p in patches[:-1])
    account.calls.clear()
    second = apply(fake_api(account), JOBS_ONLY)
    assert second.ok and second.made == 0
    assert [m for m, _ in account.calls if m != "GET"] == []
    assert second.lines() == [
        "No changes: the account already matches fivetran.yaml; nothing was changed."
    ]


def test_a_refused_table_is_reported_not_retried_and_holds_the_unpause() -> None:
    account = FakeAccount()
    spec = JOBS.model_copy(
        update={
            "tables": {
                **JOBS.tables,
                "jobs": JOBS.tables["jobs"].model_copy(update={"enabled": False, "why": "x"}),
            }
        }
    )
    desired = DESIRED.model_copy(update={"connectors": (spec,)})
    report = apply(fake_api(account), desired)
    assert not report.ok
    assert account.calls.count(("PATCH", "connections/c1/schemas/public/tables/jobs")) == 1
    lines = "\n".join(report.lines())
    assert (
        "table public.jobs: enabled true -> false  (x)  [read-only in the account: SYSTEM_TABLE]:"
        " REFUSED 409 IllegalState: Cannot modify read-only table public.jobs config"
    ) in lines
    assert "connection: paused true -> false: HELD (stays paused" in lines
    assert account.connection["paused"] is True
    assert "1 refused, 1 held back" in lines


def test_only_throttling_and_server_errors_are_retried() -> None:
    answers = iter([503, 429, 200, 409])
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        calls.append(status)
        if status == 200:
            return ok({"items": []})
        return httpx.Response(status, json={"code": "X", "message": "no"})

    api = FivetranApi(
        httpx.Client(base_url="http://f.test/v1/", transport=httpx.MockTransport(handler)),
        attempts=5,
        max_wait_s=0,
    )
    assert api.connections() == []
    assert calls == [503, 429, 200]
    with pytest.raises(FivetranApiError) as refused:
        api.update_connection("c1", {"paused": False})
    assert (refused.value.status, refused.value.code) == (409, "X")
    assert calls == [503, 429, 200, 409]


def test_no_credential_is_ever_printed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            json={
                "code": "AuthFailed",
                "message": f"bad {request.headers['authorization']} {KEY}:{SECRET}",
            },
        )

    lines: list[str] = []
    client = httpx.Client(
        base_url="http://f.test/v1/", transport=httpx.MockTransport(handler), auth=(KEY, SECRET)
    )
    for command in ("plan", "apply"):
        assert run(command, client, secrets=(KEY, SECRET), echo=lines.append) == 1
    text = "\n".join(lines)
    assert "AuthFailed" in text and KEY not in text and SECRET not in text
    assert redact(f"a{KEY}b", [KEY, ""]) == "a***b"


def test_apply_connection_batches_the_fields_of_one_column() -> None:
    account = FakeAccount()
    conn = account.connection | {"paused": False}
    account.connection = conn
    config = account.config
    config["schemas"]["public"]["tables"]["customers"]["columns"]["email"] = column(enabled=False)
    plan = diff_connection(JOBS, conn, config)
    outcomes = apply_connection(fake_api(account), plan)
    email = [p for m, p in account.calls if p.endswith("/columns/email") and "customers" in p]
    assert len(email) == 1 and all(o.made for o in outcomes)
    assert config["schemas"]["public"]["tables"]["customers"]["columns"]["email"]["hashed"] is True
    assert config["schemas"]["public"]["tables"]["customers"]["columns"]["email"]["enabled"] is True
