"""Pure parts of the local Fivetran and of the production glue."""

from __future__ import annotations

import hashlib
import hmac

import dagster as dg
import pytest
from standins.fivetran import typemap
from standins.fivetran.config import SourceSettings, load_account
from standins.fivetran.webhooks import sign
from standins.sources import catalog

from analytics_platform.ingest.connectors.desired import load_desired
from analytics_platform.ingest.fivetran import (
    FIVETRAN_API_BASE_URL,
    ConfigurableFivetranClient,
    ConfigurableFivetranWorkspace,
)


@pytest.mark.parametrize(
    ("source", "dest"),
    [
        ("bigint", "BIGINT"),
        ("integer", "INTEGER"),
        ("text", "VARCHAR"),
        ("varchar(18)", "VARCHAR"),
        ("character varying(18)", "VARCHAR"),
        ("boolean", "BOOLEAN"),
        ("timestamptz", "TIMESTAMP"),
        ("timestamp with time zone", "TIMESTAMP"),
        ("date", "DATE"),
        ("time", "TIME"),
        ("time without time zone", "TIME"),
        ("numeric(14,2)", "DECIMAL(14,2)"),
        ("double precision", "DOUBLE"),
    ],
)
def test_contract_type_mapping(source: str, dest: str) -> None:
    assert typemap.destination_type(source) == dest


@pytest.mark.parametrize(
    ("existing", "incoming", "result"),
    [
        ("INTEGER", "BIGINT", "BIGINT"),
        ("BIGINT", "INTEGER", "BIGINT"),
        ("DECIMAL(10,2)", "DECIMAL(14,2)", "DECIMAL(14,2)"),
        ("BIGINT", "DECIMAL(14,2)", "DECIMAL(21,2)"),
        ("DATE", "TIMESTAMP", "TIMESTAMP"),
        ("BIGINT", "VARCHAR", None),
        ("VARCHAR", "BIGINT", None),
        ("TIMESTAMP", "BIGINT", None),
        ("BOOLEAN", "INTEGER", None),
    ],
)
def test_widening_rules(existing: str, incoming: str, result: str | None) -> None:
    assert typemap.widened(existing, incoming) == result


def test_connectors_yaml_matches_the_catalog() -> None:
    account = load_account(
        SourceSettings(jobs_db_dsns={"bu_north": "x", "bu_south": "y", "bu_east": "z"})
    )
    jobs = [c for c in account.connectors.values() if c.system == "jobs_db"]
    assert sorted(c.schema for c in jobs) == [
        "fivetran_postgres_bu_east",
        "fivetran_postgres_bu_north",
        "fivetran_postgres_bu_south",
    ]
    frequencies = {c.system: c.sync_frequency for c in account.connectors.values()}
    assert frequencies == {
        "jobs_db": 15,
        "salesforce": 60,
        "quickbooks": 360,
        "servicetitan": 30,
        "telematics": 60,
        "sheets": 1440,
    }
    # What lands (hashed, excluded) is the desired state the platform applies: fivetran.yaml.
    desired = load_desired()
    for conn in account.connectors.values():
        assert conn.schema == catalog.landing_schema(conn.system, conn.tenant)
        for name in conn.tables:
            cfg = desired.table(conn.schema, name)
            assert cfg is not None, f"{conn.schema}.{name}"
            pii = {c.name for c in conn.catalog_system.table(name).columns if c.pii}
            assert set(cfg.hashed) == pii, f"{conn.id}.{name}"
    excluded = {
        (c.system, t)
        for c in account.connectors.values()
        for t in c.tables
        if not desired.table(c.schema, t).enabled  # type: ignore[union-attr]
    }
    assert excluded == {("salesforce", "Case")}


def test_signature_is_uppercase_hex_hmac_sha256() -> None:
    body = b'{"event":"sync_end"}'
    expected = hmac.new(b"secret", body, hashlib.sha256).hexdigest().upper()
    assert sign(body, "secret") == expected


def test_workspace_client_uses_configured_url_and_resolves_env_vars(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FT_KEY", "the-key")
    monkeypatch.setenv("FT_SECRET", "the-secret")
    monkeypatch.setenv("FT_URL", "http://127.0.0.1:9/v1/")
    ws = ConfigurableFivetranWorkspace(
        account_id="a",
        api_key=dg.EnvVar("FT_KEY"),
        api_secret=dg.EnvVar("FT_SECRET"),
        api_base_url=dg.EnvVar("FT_URL"),
        poll_interval=0.5,
    )
    client = ws.get_client()
    assert isinstance(client, ConfigurableFivetranClient)
    assert (client.api_key, client.api_secret) == ("the-key", "the-secret")
    assert client.api_base_url == "http://127.0.0.1:9/v1"
    assert client.poll_interval == 0.5
    default = ConfigurableFivetranWorkspace(account_id="a", api_key="k", api_secret="s")
    assert default.get_client().api_base_url == FIVETRAN_API_BASE_URL


def test_missing_env_var_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FT_MISSING", raising=False)
    ws = ConfigurableFivetranWorkspace(
        account_id="a", api_key=dg.EnvVar("FT_MISSING"), api_secret="s"
    )
    with pytest.raises(dg.Failure, match="FT_MISSING"):
        ws.get_client()
