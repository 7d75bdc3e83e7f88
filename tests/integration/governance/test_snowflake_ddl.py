"""The Snowflake governance DDL, compiled offline by dbt for the `snowflake` target (dummy
credentials; `run-operation governance_script` renders without connecting), checked against
the reviewed script (snowflake_governance.sql) and against the role matrix's rules: the BI
role reaches the marts only, raw is read by the pipeline roles only, every mart's policies
are attached before it becomes readable. And fakesnow (`snowflake_local`) runs none of it.

After an intended change, regenerate the reviewed script and review its diff:
    SNOWFLAKE_ACCOUNT=x SNOWFLAKE_USER=x uv run dbt --quiet run-operation governance_script \
        --target snowflake --project-dir dbt_fieldforce --profiles-dir dbt_fieldforce \
        > tests/integration/governance/snowflake_governance.sql
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from standins.net import free_port

from tests.integration.dbt.conftest import DbtProject, dbt_env

GOLDEN = Path(__file__).with_name("snowflake_governance.sql")
DATABASE = "ANALYTICS_MARTS"
RAW_DATABASE = "ANALYTICS_RAW"
REGION_FILTERED = {"dim_customers", "dim_technicians", "fct_jobs", "fct_revenue"}
REGION_FILTERED |= {"fct_technician_performance"}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    """(the script dbt prints, the manifest it parsed) for the snowflake target."""
    workdir = tmp_path_factory.mktemp("governance_snowflake")
    project = DbtProject(
        workdir, dbt_env(SNOWFLAKE_ACCOUNT="fieldforce-test", SNOWFLAKE_USER="DBT_PROD_USER")
    )
    result = project.run("run-operation governance_script", quiet=True, target="snowflake")
    manifest = json.loads((workdir / "target" / "manifest.json").read_text())
    yield result.stdout, manifest


def statements(script: str) -> list[str]:
    body = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    return [" ".join(s.split()) for s in body.split(";") if s.strip()]


def mart_relations(manifest: dict) -> set[str]:
    return {
        f"{node['database']}.{node['schema']}.{node['alias']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1] == "marts"
    }


def role_closure(ddl: list[str], role: str) -> set[str]:
    """``role`` and every role granted to it, transitively."""
    granted: dict[str, set[str]] = {}
    for statement in ddl:
        match = re.fullmatch(r"grant role (\w+) to role (\w+)", statement)
        if match:
            granted.setdefault(match[2], set()).add(match[1])
    closure, todo = set(), [role]
    while todo:
        current = todo.pop()
        if current not in closure:
            closure.add(current)
            todo.extend(granted.get(current, ()))
    return closure


def privileges(ddl: list[str], roles: set[str]) -> list[tuple[str, str]]:
    """(privileges, object) of every non-role grant to one of ``roles``."""
    found = []
    for statement in ddl:
        match = re.fullmatch(r"grant (.+?) on (.+) to role (\w+)", statement)
        if match and match[3] in roles and not statement.startswith("grant role "):
            found.append((match[1], match[2]))
    return found


def test_compiled_ddl_is_the_reviewed_script(compiled: tuple[str, dict]) -> None:
    script, _ = compiled
    assert script.strip() == GOLDEN.read_text().strip(), (
        "the governance DDL changed: review it and regenerate "
        "snowflake_governance.sql (see this module's docstring)"
    )


def test_bi_role_is_granted_the_marts_and_nothing_else(compiled: tuple[str, dict]) -> None:
    script, manifest = compiled
    ddl = statements(script)
    closure = role_closure(ddl, "SIGMA_BI_ROLE")
    assert closure == {"SIGMA_BI_ROLE", "MARTS_READ_ROLE"}
    granted = privileges(ddl, closure)
    marts = mart_relations(manifest)
    mart_schemas = {relation.rsplit(".", 1)[0] for relation in marts}
    assert {"core", "finance", "operations", "executive"} <= {s.split(".")[1] for s in mart_schemas}
    tables = {obj.removeprefix("table ") for priv, obj in granted if priv == "select"}
    assert tables == marts
    assert set(granted) == (
        {("select", f"table {t}") for t in marts}
        | {("usage", f"schema {s}") for s in mart_schemas}
        | {("usage", f"database {DATABASE}"), ("usage", "warehouse BI_WH")}
    )
    # least privilege: no future grants on marts (a rebuilt table is granted after its policies)
    assert not [s for s in ddl if "future" in s and DATABASE in s]


def test_raw_is_reached_by_the_pipeline_roles_only(compiled: tuple[str, dict]) -> None:
    ddl = statements(compiled[0])
    functional = {"FIVETRAN_INGEST_ROLE", "DBT_DEV_ROLE", "DBT_PROD_ROLE", "SIGMA_BI_ROLE"}
    functional |= {"ANALYST_ROLE", "ADMIN_ROLE"}
    reaches_raw = {
        role
        for role in functional
        if any(RAW_DATABASE in obj for _, obj in privileges(ddl, role_closure(ddl, role)))
    }
    assert reaches_raw == {"FIVETRAN_INGEST_ROLE", "DBT_DEV_ROLE", "DBT_PROD_ROLE"}
    writers = {role for role in functional if "RAW_WRITE_ROLE" in role_closure(ddl, role)}
    assert writers == {"FIVETRAN_INGEST_ROLE"}
    # staging (views over raw) is readable by the dbt roles only
    staging_readers = {
        role
        for role in functional
        if any(".stg_" in obj for _, obj in privileges(ddl, role_closure(ddl, role)))
    }
    assert staging_readers == {"DBT_DEV_ROLE", "DBT_PROD_ROLE"}


def test_mart_policies_are_attached_before_the_mart_is_readable(
    compiled: tuple[str, dict],
) -> None:
    ddl = statements(compiled[0])
    policies = f"{DATABASE}.security"
    for relation in mart_relations(compiled[1]):
        name = relation.rsplit(".", 1)[1]
        grant = ddl.index(f"grant select on table {relation} to role MARTS_READ_ROLE")
        alters = [i for i, s in enumerate(ddl) if s.startswith(f"alter table {relation} ")]
        assert all(i < grant for i in alters), relation
        row_policy = (
            f"alter table {relation} add row access policy {policies}.region_access_policy "
            "on (region_id)"
        )
        assert (row_policy in ddl) == (name in REGION_FILTERED), relation
        masked = {
            s.split()[5]: s.split()[9]
            for s in ddl
            if s.startswith(f"alter table {relation} modify column ")
        }
        expected = (
            {"email_hash": f"{policies}.email_mask", "phone_hash": f"{policies}.phone_mask"}
            if name in ("dim_customers", "dim_technicians")
            else {}
        )
        assert masked == expected, relation
    # `force`: a rebuilt incremental keeps its columns' policies; re-setting must not fail
    assert all(s.endswith(" force") for s in ddl if " set masking policy " in s)

    # the policies exist before any model runs, and say what the design says
    def body(prefix: str) -> str:
        return next(s for s in ddl if s.startswith(prefix))

    email = body(f"create masking policy if not exists {policies}.email_mask")
    phone = body(f"create masking policy if not exists {policies}.phone_mask")
    rows = body(f"create row access policy if not exists {policies}.region_access_policy")
    assert "current_role() in ('ADMIN_ROLE', 'ANALYST_ROLE', 'DBT_PROD_ROLE') then val" in email
    assert "current_role() in ('ADMIN_ROLE', 'DBT_PROD_ROLE') then val" in phone
    assert "regexp_replace(val, '.+@', '***@')" in email
    assert f"from {policies}.user_region_access" in rows and "current_user()" in rows
    assert "or row_region_id in ( select user_region_access.region_id" in rows
    first_model_statement = next(i for i, s in enumerate(ddl) if s.startswith("alter table "))
    assert ddl.index(email) < first_model_statement and ddl.index(rows) < first_model_statement


def test_snowflake_local_runs_no_governance_ddl(tmp_path: Path) -> None:
    # nothing listens on the port: any statement sent would fail the command
    project = DbtProject(tmp_path, dbt_env(FAKESNOW_PORT=str(free_port())))
    result = project.run("run-operation governance_setup", target="snowflake_local")
    assert "governance_setup: skipped, target snowflake_local" in result.stdout
