"""The Slack and PagerDuty stand-ins, started once per session as real processes.

They run through their command lines (``python -m standins.slack serve …``), as ``fieldforce up``
runs them, on free loopback ports; each test starts from an empty recording. The alert policy,
a fresh instance and the notifier resources pointed at the stand-ins are fixtures here too.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
from dagster_fivetran import load_fivetran_asset_specs
from devstack.ports import free_port, wait_for_port
from devstack.stack import REPO_ROOT
from testkit.stack import API_KEY, API_SECRET, Stack, StackFactory

from analytics_platform.ingest.fivetran import ConfigurableFivetranWorkspace
from analytics_platform.ingest.translator import FieldForceFivetranTranslator
from analytics_platform.notify import (
    AlertingConfig,
    PagerDutyNotifier,
    SlackNotifier,
    load_alerting_config,
)

SENSOR_TESTS_UI = "http://dagster.test:3000"
"""The Dagster UI the sensor tests' alerts link to."""


@dataclass(frozen=True)
class StandIn:
    """A running stand-in: its root URL, its home and the secret it expects."""

    root: str
    home: Path
    secret: str

    def recorded(self) -> dict:
        return httpx.get(f"{self.root}/_recorded", timeout=5).json()

    def inject(self, **body: object) -> None:
        httpx.post(f"{self.root}/_inject", json=body, timeout=5).raise_for_status()


@contextmanager
def _serve(module: str, home: Path, args: list[str]) -> Iterator[str]:
    port = free_port()
    log = (home / "service.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "serve", "--port", str(port), "--home", str(home), *args],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        if not wait_for_port(port, 20):
            raise RuntimeError(f"{module} did not start: {(home / 'service.log').read_text()}")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


@pytest.fixture(scope="module")
def fivetran(
    request: pytest.FixtureRequest, pg_cluster: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A small local stack (50 rows a table, first syncs done) for one test module's sensors."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    factory = StackFactory(pg_cluster, tmp_path_factory.mktemp(name))
    try:
        yield factory(rows=50)
    finally:
        factory.close()


@pytest.fixture(scope="module")
def workspace(fivetran: Stack) -> ConfigurableFivetranWorkspace:
    return ConfigurableFivetranWorkspace(
        account_id="fieldforce",
        api_key=API_KEY,
        api_secret=API_SECRET,
        api_base_url=fivetran.api_url,
        request_retry_delay=0.05,
    )


@pytest.fixture(scope="module")
def fivetran_specs(workspace: ConfigurableFivetranWorkspace) -> list[dg.AssetSpec]:
    return list(
        load_fivetran_asset_specs(
            workspace, dagster_fivetran_translator=FieldForceFivetranTranslator()
        )
    )


@pytest.fixture(scope="session")
def slack_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    home = tmp_path_factory.mktemp("slack")
    token = f"xoxb-{secrets.token_hex(6)}-{secrets.token_hex(12)}"
    with _serve("standins.slack", home, ["--token", token]) as root:
        yield StandIn(root, home, token)


@pytest.fixture(scope="session")
def pagerduty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    home = tmp_path_factory.mktemp("pagerduty")
    routing_key = secrets.token_hex(16)
    with _serve("standins.pagerduty", home, ["--routing-key", routing_key]) as root:
        yield StandIn(root, home, routing_key)


@pytest.fixture
def slack_standin(slack_server: StandIn) -> StandIn:
    httpx.post(f"{slack_server.root}/_reset", timeout=5).raise_for_status()
    return slack_server


@pytest.fixture
def pagerduty_standin(pagerduty_server: StandIn) -> StandIn:
    httpx.post(f"{pagerduty_server.root}/_reset", timeout=5).raise_for_status()
    return pagerduty_server


@pytest.fixture
def config() -> AlertingConfig:
    """The repository's alerting policy, linking to the sensor tests' Dagster UI."""
    return load_alerting_config(dagster_ui_url=SENSOR_TESTS_UI)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A fresh Dagster instance."""
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def notifiers(slack_standin: StandIn, pagerduty_standin: StandIn) -> dict[str, Any]:
    """The ``slack`` and ``pagerduty`` resources, pointed at the stand-ins."""
    return {
        "slack": SlackNotifier(token=slack_standin.secret, base_url=f"{slack_standin.root}/api/"),
        "pagerduty": PagerDutyNotifier(
            routing_key=pagerduty_standin.secret,
            events_url=f"{pagerduty_standin.root}/v2/enqueue",
            backoff_seconds=0.01,
        ),
    }
