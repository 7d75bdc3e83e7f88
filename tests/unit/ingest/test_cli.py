"""The receiver's command line: the flags the dev stack's launcher starts it with."""

from unittest.mock import Mock

import pytest
import typer
from starlette.testclient import TestClient
from typer.testing import CliRunner

from analytics_platform.batching import RECEIVER_QUIET_S
from analytics_platform.ingest.webhook.app import create_app
from analytics_platform.ingest.webhook.cli import app
from analytics_platform.ingest.webhook.registration import (
    RegistrationError,
    lifespan,
    markers,
    with_markers,
)
from analytics_platform.ingest.webhook.sweep import SWEEP_INTERVAL_S


def _params(*argv: str) -> dict[str, object]:
    command = typer.main.get_command(app)
    return dict(command.make_context("webhook", list(argv)).params)


def test_the_launchers_flags_parse() -> None:
    params = _params("--port", "8123")
    assert params["port"] == 8123
    assert "state" not in params  # the watermarks live in the Dagster instance
    assert params["host"] == "127.0.0.1"
    assert params["quiet"] == RECEIVER_QUIET_S
    assert params["sweep_s"] == SWEEP_INTERVAL_S


def test_every_option_can_be_set() -> None:
    params = _params("--host", "0.0.0.0", "--port", "1", "--quiet", "0.5", "--sweep", "5")
    assert (params["host"], params["port"], params["quiet"], params["sweep_s"]) == (
        "0.0.0.0",
        1,
        0.5,
        5.0,
    )


def test_the_port_is_required() -> None:
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 2
    assert "--port" in result.output


def test_the_public_url_and_the_receiver_id_parse() -> None:
    params = _params(
        "--port",
        "1",
        "--public-url",
        "https://hooks.example.com/webhooks/fivetran",
        "--receiver-id",
        "staging",
    )
    assert params["public_url"] == "https://hooks.example.com/webhooks/fivetran"
    assert params["receiver_id"] == "staging"
    defaults = _params("--port", "1")
    assert defaults["public_url"] is None  # nothing is registered
    assert defaults["receiver_id"] == "fieldforce"


class _Registration:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[str] = []
        self.fail = fail

    def register(self) -> str:
        self.calls.append("register")
        if self.fail:
            raise RegistrationError("Fivetran refused GET /webhooks: HTTP 401")
        return "wh_1"

    def unregister(self) -> bool:
        self.calls.append("unregister")
        raise RegistrationError("Fivetran API unreachable")  # only logged at shutdown


def test_the_receiver_registers_before_serving_and_unregisters_after() -> None:
    registration = _Registration()
    receiver = create_app("s", Mock(), Mock(), lifespan=lifespan(registration))  # type: ignore[arg-type]
    with TestClient(receiver) as client:
        assert registration.calls == ["register"]
        assert client.get("/health").json() == {"ok": True}
    assert registration.calls == ["register", "unregister"]


def test_a_failed_registration_fails_the_start_up() -> None:
    registration = _Registration(fail=True)
    receiver = create_app("s", Mock(), Mock(), lifespan=lifespan(registration))  # type: ignore[arg-type]
    with pytest.raises(RegistrationError, match="HTTP 401"), TestClient(receiver):
        pass
    assert registration.calls == ["register"]


def test_the_registered_url_carries_the_markers_and_keeps_its_query() -> None:
    url = with_markers("https://h.example.com/webhooks/fivetran?region=eu", "prod", "abc")
    assert url.startswith("https://h.example.com/webhooks/fivetran?region=eu&")
    assert markers(url) == ("prod", "abc")
    assert with_markers(url, "prod", "def") == with_markers(
        "https://h.example.com/webhooks/fivetran?region=eu", "prod", "def"
    )
    assert markers("https://h.example.com/webhooks/fivetran") == (None, None)
