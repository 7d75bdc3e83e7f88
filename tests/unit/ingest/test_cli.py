"""The receiver's command line: the flags the dev stack's launcher starts it with."""

from pathlib import Path

import typer
from typer.testing import CliRunner

from analytics_platform.batching import RECEIVER_QUIET_S
from analytics_platform.ingest.webhook.cli import app
from analytics_platform.ingest.webhook.sweep import SWEEP_INTERVAL_S


def _params(*argv: str) -> dict[str, object]:
    command = typer.main.get_command(app)
    return dict(command.make_context("webhook", list(argv)).params)


def test_the_launchers_flags_parse() -> None:
    params = _params("--port", "8123", "--state", "/tmp/webhook_state.json")
    assert params["port"] == 8123
    assert params["state"] == Path("/tmp/webhook_state.json")
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
