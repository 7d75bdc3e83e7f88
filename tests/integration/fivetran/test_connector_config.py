"""Connector configuration as code against the local Fivetran, through the production code path.

The local Fivetran creates its connections as a new Fivetran account has them (paused, every
table enabled, nothing hashed); ``python -m analytics_platform.ingest.connectors`` (and
``fieldforce fivetran``) plan and apply ``fivetran.yaml`` over HTTP, and only then does anything
sync.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import yaml
from devstack.fivetran_cli import fivetran_app
from devstack.stack import write_stack
from standins.sources.postgres import PostgresCluster
from testkit.builder import FivetranOptions, MiniSources, Stack, build_stack, private_root
from testkit.stack import clear_pii_values, hashed, warehouse_strings
from typer.testing import CliRunner

from analytics_platform.ingest.connectors.desired import DEFAULT_CONFIG_PATH

REPO = Path(__file__).resolve().parents[3]
CONNECTIONS = (
    "fivetran_postgres_bu_north",
    "fivetran_postgres_bu_south",
    "fivetran_quickbooks",
    "fivetran_salesforce",
    "fivetran_servicetitan",
    "fivetran_sheets",
    "fivetran_telematics",
)


@pytest.fixture
def new_account(pg_cluster: PostgresCluster) -> Iterator[Stack]:
    """A local Fivetran as created, nothing applied, with freshly planted credentials."""
    options = FivetranOptions(
        api_key=f"key{secrets.token_hex(8)}",
        api_secret=f"secret{secrets.token_hex(12)}",
        apply_config=False,
    )
    with (
        private_root("connector-config-") as root,
        build_stack(
            root, MiniSources(pg_cluster, rows=50), fivetran=options, first_sync="none"
        ) as stack,
    ):
        yield stack


def production(stack: Stack, command: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m analytics_platform.ingest.connectors <command>`` against the stack."""
    env = os.environ | {
        "FIVETRAN_API_BASE_URL": stack.api_url,
        "FIVETRAN_API_KEY": stack.api_key,
        "FIVETRAN_API_SECRET": stack.api_secret,
    }
    return subprocess.run(
        [sys.executable, "-m", "analytics_platform.ingest.connectors", command, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_no_credential(stack: Stack, *outputs: str) -> None:
    for output in outputs:
        assert stack.api_key not in output and stack.api_secret not in output


def history(stack: Stack) -> list[dict[str, object]]:
    with stack.client() as c:
        return list(c.get("/admin/syncs", params={"limit": 1000}).json()["items"])


def test_plan_shows_what_a_new_account_lacks_and_changes_nothing(new_account: Stack) -> None:
    planned = production(new_account, "plan")
    assert planned.returncode == 0, planned.stderr
    lines = planned.stdout.splitlines()
    assert [line.split(" (")[0] for line in lines if line.startswith("~ ")] == [
        f"~ {schema}" for schema in CONNECTIONS
    ]
    for tenant in ("bu_north", "bu_south"):
        block = lines[lines.index(f"~ fivetran_postgres_{tenant} (postgres_jobs_{tenant})") + 1 :][
            :6
        ]
        assert block == [
            "    column public.customers.email: hashed false -> true",
            "    column public.customers.phone: hashed false -> true",
            "    column public.customers.address_line1: hashed false -> true",
            "    column public.technicians.email: hashed false -> true",
            "    column public.technicians.phone: hashed false -> true",
            "    connection: paused true -> false",
        ]
    salesforce = lines[lines.index("~ fivetran_salesforce (salesforce_crm)") + 1 :][:4]
    assert salesforce[:2] == [
        "    column salesforce.Contact.Email: hashed false -> true",
        "    column salesforce.Contact.Phone: hashed false -> true",
    ]
    assert salesforce[2].startswith(
        "    table salesforce.Case: enabled true -> false  (Support cases"
    )
    assert salesforce[3] == "    connection: paused true -> false"
    assert lines[-1] == "Plan: 20 change(s) on 7 connection(s)."
    assert_no_credential(new_account, planned.stdout, planned.stderr)
    # A plan changes nothing: the connections stay paused, nothing syncs.
    assert production(new_account, "plan").stdout == planned.stdout
    assert history(new_account) == []


def test_apply_converges_a_second_apply_is_a_no_op_and_syncs_land_the_config(
    new_account: Stack,
) -> None:
    applied = production(new_account, "apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Apply: 20 change(s) made, 0 refused, 0 held back" in applied.stdout
    assert applied.stdout.splitlines()[-1] == "The account now matches fivetran.yaml."
    again = production(new_account, "apply")
    assert again.returncode == 0
    assert again.stdout.splitlines() == [
        "No changes: the account already matches fivetran.yaml; nothing was changed."
    ]
    assert production(new_account, "plan").stdout.splitlines()[-1] == (
        "No changes: the account matches fivetran.yaml."
    )
    assert_no_credential(new_account, applied.stdout, applied.stderr, again.stdout, again.stderr)

    # Unpaused last, the connections sync on their own, already configured.
    new_account.wait_idle()
    synced = {entry["connector_id"] for entry in history(new_account)}
    assert len(synced) == 7
    tables = {
        row[0]
        for row in new_account.warehouse_query(
            "select table_name from information_schema.tables where table_schema = 'fivetran_salesforce'"
        )
    }
    assert "contact" in tables and "case" not in tables
    emails = new_account.warehouse_query("select email from fivetran_postgres_bu_north.customers")
    source = new_account.jobs_dsns["bu_north"]
    with psycopg.connect(source) as conn:
        clear = [r[0] for r in conn.execute("select email from public.customers")]
    assert sorted(e for (e,) in emails) == sorted(hashed(e) for e in clear)
    assert not clear_pii_values(new_account) & warehouse_strings(new_account)


def test_settings_changed_outside_the_file_are_planned_and_reverted(new_account: Stack) -> None:
    assert new_account.connector_config("apply")[0] == 0
    new_account.wait_idle()
    with new_account.client() as c:
        c.patch("/v1/connections/salesforce_crm", json={"sync_frequency": 360}).raise_for_status()
        c.patch(
            "/v1/connectors/postgres_jobs_bu_north/schemas/public/tables/customers/columns/email",
            json={"hashed": False},
        ).raise_for_status()
    (sync,) = new_account.sync("postgres_jobs_bu_north")
    assert sync["status"] == "SUCCESSFUL"
    assert clear_pii_values(new_account) & warehouse_strings(new_account)  # the clear emails landed
    status, plan = new_account.connector_config("plan")
    assert status == 0
    assert "    column public.customers.email: hashed false -> true" in plan.splitlines()
    assert "    connection: sync_frequency 360 -> 60" in plan.splitlines()
    assert plan.splitlines()[-1] == "Plan: 2 change(s) on 2 connection(s)."
    status, applied = new_account.connector_config("apply")
    assert status == 0 and "The account now matches fivetran.yaml." in applied
    # Hashing a landed column re-reads its table whole: no clear value stays behind.
    (sync,) = new_account.sync("postgres_jobs_bu_north")
    assert sync["status"] == "SUCCESSFUL"
    assert not clear_pii_values(new_account) & warehouse_strings(new_account)


def test_a_read_only_table_change_is_refused_with_fivetrans_409(
    new_account: Stack, tmp_path: Path
) -> None:
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    telematics = next(c for c in raw["connectors"] if c["schema"] == "fivetran_telematics")
    telematics["tables"]["gps_events"] = {"enabled": False, "why": "try a core table"}
    variant = tmp_path / "fivetran.yaml"
    variant.write_text(yaml.safe_dump(raw))
    applied = production(new_account, "apply", "--config", str(variant))
    assert applied.returncode == 1
    refused = [line for line in applied.stdout.splitlines() if "REFUSED" in line]
    assert refused == [
        "    table telematics.gps_events: enabled true -> false  (try a core table)"
        "  [read-only in the account: SYSTEM_TABLE]: REFUSED 409 IllegalState:"
        " Cannot modify read-only table telematics.gps_events config"
    ]
    # Its schema config is not as desired, so the connection stays paused; the others do not.
    assert "    connection: paused true -> false: HELD (stays paused" in applied.stdout
    with new_account.client() as c:
        assert c.get("/v1/connections/telematics_gps").json()["data"]["paused"] is True
        assert c.get("/v1/connections/quickbooks_finance").json()["data"]["paused"] is False
        for prefix in ("connectors", "connections"):
            answer = c.patch(
                f"/v1/{prefix}/telematics_gps/schemas/telematics/tables/gps_events",
                json={"enabled": False},
            )
            assert answer.status_code == 409
            assert answer.json() == {
                "code": "IllegalState",
                "message": "Cannot modify read-only table telematics.gps_events config",
            }
    assert_no_credential(new_account, applied.stdout, applied.stderr)


def test_fieldforce_fivetran_reads_the_local_stack_file(
    new_account: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_stack(
        {
            "fivetran_api_url": new_account.api_url,
            "fivetran_api_key": new_account.api_key,
            "fivetran_api_secret": new_account.api_secret,
        },
        tmp_path,
    )
    monkeypatch.setenv("FIELDFORCE_HOME", str(tmp_path))
    for name in ("FIVETRAN_API_KEY", "FIVETRAN_API_SECRET", "FIVETRAN_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    planned = runner.invoke(fivetran_app, ["plan"])
    assert planned.exit_code == 0, planned.output
    assert planned.output.splitlines()[-1] == "Plan: 20 change(s) on 7 connection(s)."
    applied = runner.invoke(fivetran_app, ["apply"])
    assert applied.exit_code == 0 and "The account now matches fivetran.yaml." in applied.output
    again = runner.invoke(fivetran_app, ["apply"])
    assert "nothing was changed" in again.output
    assert_no_credential(new_account, planned.output, applied.output, again.output)
    # A wrong secret is Fivetran's 401, reported without echoing either credential.
    write_stack(
        {
            "fivetran_api_url": new_account.api_url,
            "fivetran_api_key": new_account.api_key,
            "fivetran_api_secret": "wrong-" + new_account.api_secret,
        },
        tmp_path,
    )
    refused = runner.invoke(fivetran_app, ["plan"])
    assert refused.exit_code == 1 and "401 AuthFailed" in refused.output
    assert_no_credential(new_account, refused.output)
    assert httpx.get(f"{new_account.api_url}/groups").status_code == 401
