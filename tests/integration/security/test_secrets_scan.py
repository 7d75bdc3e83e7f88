"""Planted secrets never leave: not in logs, the event log, metadata, run config, or alerts.

Known values are planted in the environment as every credential the platform reads (Fivetran
API key and secret, webhook secret, Slack token, PagerDuty routing key, Snowflake password),
and the services accept exactly those values: the local Fivetran is started with the planted
key and secret, the Slack and PagerDuty stand-ins with the planted token and key. Then the code
location is built from the environment and its code paths that touch the secrets are driven:
alert sensors that page and post, a Fivetran error that quotes credentials back, a sensor
evaluation that fails, the webhook receiver (forged and signed requests), materializations with
metadata, and runs whose resources resolve the secrets. Everything produced is scanned: captured
logs and output, every file of the Dagster instance (event log, run storage, compute logs), run
configs and tags, sensor cursors and tick messages, what the stand-ins received, responses and
error texts.
"""

import importlib
import json
import logging
import re
import secrets
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import httpx
import pytest
from dagster_snowflake import SnowflakeResource
from starlette.testclient import TestClient
from testkit.landing import FivetranOptions
from testkit.stack import Stack, StackFactory, pg_cluster

from analytics_platform import resources as resources_module
from analytics_platform.ingest.assets import fivetran_workspace
from analytics_platform.ingest.observe import fetch_tables_by_connector, instance_reported
from analytics_platform.ingest.webhook import SIGNATURE_HEADER, SyncObserver, create_app, signature
from analytics_platform.resources import warehouse_resource
from analytics_platform.settings import PROJECT_ROOT, load_settings, require
from tests.integration.alerts.conftest import (
    StandIn,
    pagerduty_server,
    pagerduty_standin,
    slack_server,
    slack_standin,
)

__all__ = ["pagerduty_server", "pagerduty_standin", "pg_cluster", "slack_server", "slack_standin"]

NORTH = "postgres_jobs_bu_north"
SOUTH = "postgres_jobs_bu_south"
CODE_ROOTS = ("analytics_platform", "dbt_fieldforce")
_ENV_READ = re.compile(
    r"""(?:os\.environ\.get|os\.getenv|os\.environ\[|EnvVar|require|env_var)\s*\(?\s*\(?\s*['"]([A-Z][A-Z0-9_]+)['"]"""
)


@pytest.fixture(scope="module")
def planted_fivetran(pg_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The local Fivetran, accepting only a freshly planted key and secret."""
    factory = StackFactory(pg_cluster, tmp_path_factory.mktemp("secrets"))
    stack = factory(rows=20, start=False)
    key, secret = f"ftkey{secrets.token_hex(10)}", f"ftsecret{secrets.token_hex(16)}"
    stack.options = FivetranOptions(api_key=key, api_secret=secret)
    stack.start()
    stack.extra = {"FIVETRAN_API_KEY": key, "FIVETRAN_API_SECRET": secret}
    admin(stack, "post", "/admin/wait-idle", json={"timeout": 120})
    try:
        yield stack
    finally:
        factory.close()


def admin(stack: Stack, method: str, path: str, **kwargs: Any) -> httpx.Response:
    auth = (stack.extra["FIVETRAN_API_KEY"], stack.extra["FIVETRAN_API_SECRET"])
    with httpx.Client(base_url=stack.base_url, auth=auth, timeout=120) as client:
        response = client.request(method, path, **kwargs)
    response.raise_for_status()
    return response


def sync(stack: Stack, connector_id: str) -> str:
    body = {"connector_ids": [connector_id], "wait": True}
    [entry] = admin(stack, "post", "/admin/syncs", json=body).json()["syncs"]
    return str(entry["status"])


def tick(
    sensor: dg.SensorDefinition,
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    cursor: str | None,
    seen: list[str],
) -> str | None:
    """One evaluation as the code server runs it: the location's resources, resolved from the
    environment, restricted to what the sensor requires."""
    repository = defs.get_repository_def()
    resources = {
        key: resource
        for key, resource in repository.get_top_level_resources().items()
        if key in sensor.required_resource_keys
    }
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, repository_def=repository, resources=resources
    ) as context:
        data = sensor.evaluate_tick(context)
    for event in data.asset_events:
        instance.report_runless_asset_event(event)
    seen += [data.cursor or "", data.skip_message or ""]
    return data.cursor


def files_text(root: Path) -> str:
    return "\n".join(
        path.read_bytes().decode("utf-8", "replace") for path in root.rglob("*") if path.is_file()
    )


@contextmanager
def planted_environment(
    monkeypatch: pytest.MonkeyPatch, stack: Stack, slack: StandIn, pagerduty: StandIn
) -> Iterator[dict[str, str]]:
    planted = {
        **stack.extra,
        "FIVETRAN_WEBHOOK_SECRET": f"whsec{secrets.token_hex(16)}",
        "SLACK_BOT_TOKEN": slack.secret,
        "PAGERDUTY_ROUTING_KEY": pagerduty.secret,
        "SNOWFLAKE_PASSWORD": f"sfpw{secrets.token_hex(16)}",
    }
    environment = {
        "ENVIRONMENT": "local",
        "FIVETRAN_MODE": "webhook",
        "FIVETRAN_API_BASE_URL": stack.api_url,
        "FIELDFORCE_WAREHOUSE_PATH": str(stack.warehouse),
        "SLACK_API_BASE_URL": f"{slack.root}/api/",
        "PAGERDUTY_EVENTS_URL": f"{pagerduty.root}/v2/enqueue",
        "DAGSTER_UI_URL": "http://dagster.test:3000",
        "SNOWFLAKE_ACCOUNT": "fieldforce-test",
        "SNOWFLAKE_USER": "svc_dagster",
        "SNOWFLAKE_ROLE": "DBT_PROD_ROLE",
        "SNOWFLAKE_WAREHOUSE": "TRANSFORM_WH",
        "SNOWFLAKE_DATABASE": "ANALYTICS_MARTS",
        **planted,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    # The resources module builds its definitions at import, from the environment of that
    # moment (as a code server does at start-up): build them again from this one.
    importlib.reload(resources_module)
    try:
        yield planted
    finally:
        monkeypatch.undo()
        importlib.reload(resources_module)


def test_planted_secrets_never_reach_logs_events_metadata_run_config_or_alerts(
    planted_fivetran: Stack,
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    stack = planted_fivetran
    caplog.set_level(logging.DEBUG)
    produced: list[str] = []  # texts produced outside the instance and the stand-ins
    with (
        planted_environment(monkeypatch, stack, slack_standin, pagerduty_standin) as planted,
        dg.instance_for_test() as instance,
    ):
        from analytics_platform.definitions import build_defs

        settings = load_settings()
        defs = build_defs()  # the whole code location, from the environment
        specs = list(defs.resolve_all_asset_specs())
        assert any(spec.key.path[0] == "fivetran" for spec in specs)  # the planted key works
        failures = defs.get_sensor_def("alerts__fivetran_sync_failure_sensor")

        # Alerts: three failed syncs warn, then page, through the environment's resources.
        cursor = tick(failures, instance, defs, None, produced)
        admin(stack, "post", f"/admin/faults/{NORTH}", json={"type": "fail", "count": 3})
        for _ in range(3):
            assert sync(stack, NORTH) == "FAILURE"
            cursor = tick(failures, instance, defs, cursor, produced)
        assert len(pagerduty_standin.recorded()["incidents"]) == 1  # the planted key works
        assert len(slack_standin.recorded()["messages"]) == 2  # the planted token works

        # A vendor error that quotes credentials back is scrubbed from alerts and cursors.
        quoted = (
            f"login failed: key={planted['FIVETRAN_API_SECRET']}"
            f" password={planted['SNOWFLAKE_PASSWORD']}"
        )
        admin(
            stack,
            "post",
            f"/admin/faults/{SOUTH}",
            json={"type": "fail", "count": 1, "message": quoted},
        )
        assert sync(stack, SOUTH) == "FAILURE"
        cursor = tick(failures, instance, defs, cursor, produced)
        echoed = slack_standin.recorded()["messages"][-1]
        assert "bu_south" in echoed["message"]["text"]
        assert "[redacted]" in json.dumps(echoed)

        # The webhook receiver: a forged request is refused, a signed one reports tables.
        workspace = fivetran_workspace(settings)

        @contextmanager
        def connect() -> Iterator[duckdb.DuckDBPyConnection]:
            connection = duckdb.connect(str(stack.warehouse), read_only=True)
            try:
                yield connection
            finally:
                connection.close()

        observer = SyncObserver(
            lambda: fetch_tables_by_connector(workspace.get_client()),
            connect,
            instance_reported(instance),
        )
        app = create_app(
            require("FIVETRAN_WEBHOOK_SECRET"), observer, instance.report_runless_asset_event
        )
        created = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        payload = {
            "event": "sync_end",
            "created": created,
            "connector_id": SOUTH,
            "connector_type": "postgres",
            "data": {"status": "SUCCESSFUL"},
        }
        body = json.dumps(payload).encode()
        with TestClient(app) as client:
            forged = client.post(
                "/webhooks/fivetran", content=body, headers={SIGNATURE_HEADER: "0" * 64}
            )
            signed = client.post(
                "/webhooks/fivetran",
                content=body,
                headers={SIGNATURE_HEADER: signature(body, planted["FIVETRAN_WEBHOOK_SECRET"])},
            )
        assert forged.status_code == 401 and signed.status_code == 200
        assert signed.json()["reported"]  # materializations with metadata were recorded
        produced += [forged.text, signed.text]

        # Runs whose resources resolve secrets: the raw-table checks (Fivetran credentials) and
        # an asset on the production Snowflake resource (password).
        checks = next(
            check
            for check in defs.asset_checks or []
            if isinstance(check, dg.AssetChecksDefinition)
            and any(key.name == "raw_freshness" for key in check.check_keys)
        )
        fivetran_specs = [spec for spec in specs if spec.key.path[0] == "fivetran"]
        result = dg.materialize(
            [*fivetran_specs, checks],
            instance=instance,
            resources={"fivetran": workspace},
            selection=dg.AssetSelection.checks(checks),
        )
        assert result.success

        @dg.asset
        def uses_the_warehouse(warehouse: SnowflakeResource) -> None:
            """Resolves the resource (and its password) without connecting anywhere."""

        snowflake = warehouse_resource(replace(settings, warehouse_type="snowflake"))
        assert dg.materialize(
            [uses_the_warehouse], instance=instance, resources={"warehouse": snowflake}
        ).success

        # A sensor evaluation that fails: the Fivetran API is gone.
        stack.stop()
        with pytest.raises(Exception) as failed:
            tick(failures, instance, defs, cursor, produced)
        produced += [str(failed.value), "".join(traceback.format_exception(failed.value))]
        assert "cannot read any Fivetran connector" in produced[-2]

        # Everything the instance stored: event log, runs, compute logs (files and records).
        stored = files_text(Path(instance.root_directory))
        records = instance.get_run_records()
        assert len(records) == 2
        stored += json.dumps([record.dagster_run.run_config for record in records], default=str)
        stored += json.dumps([dict(record.dagster_run.tags) for record in records])
        for record in records:
            stored += "\n".join(
                repr(entry) for entry in instance.all_logs(record.dagster_run.run_id)
            )
        assert "fivetran/rows_written" in stored  # the scan sees the reported metadata

    captured = capfd.readouterr()
    received = [
        json.dumps(slack_standin.recorded()),
        json.dumps(pagerduty_standin.recorded()),
        files_text(slack_standin.home),
        files_text(pagerduty_standin.home),
    ]
    corpus = {
        "logs": caplog.text,
        "stdout/stderr": captured.out + captured.err,
        "instance": stored,
        "sensor cursors, tick messages, responses, errors": "\n".join(produced),
        "Slack and PagerDuty": "\n".join(received),
    }
    assert "rejected a webhook" in caplog.text  # the logs were captured
    for name, secret in planted.items():
        for where, text in corpus.items():
            assert secret not in text, f"{name} leaked into {where}"


def test_env_example_lists_every_variable_the_code_reads() -> None:
    read: set[str] = set()
    for root in CODE_ROOTS:
        for path in (PROJECT_ROOT / root).rglob("*"):
            skip = {"target", "logs", "dbt_packages", "__pycache__"} & set(path.parts)
            if path.suffix in (".py", ".yml", ".yaml", ".sql") and not skip:
                read |= set(_ENV_READ.findall(path.read_text(errors="replace")))
    listed = {
        match.group(1)
        for line in (PROJECT_ROOT / ".env.example").read_text().splitlines()
        if (match := re.match(r"#?\s*([A-Z][A-Z0-9_]+)=", line))
    }
    assert {
        "FIVETRAN_API_SECRET",
        "SLACK_BOT_TOKEN",
        "SNOWFLAKE_PASSWORD",
    } <= read  # the scan works
    assert read - listed == set()
