"""``python -m analytics_platform.ingest.connectors plan|apply``: the production entry point.

Credentials come from ``FIVETRAN_API_KEY`` / ``FIVETRAN_API_SECRET`` and the API root from
``FIVETRAN_API_BASE_URL`` (:mod:`analytics_platform.settings`). :func:`run` is shared with the
local ``fieldforce fivetran`` commands, which pass the local stack's URL and credentials: the
same code path reads and changes a real account and the local stand-in. Every line printed goes
through :func:`redact` with the credentials in hand, so neither can reach a terminal or a log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Literal

import httpx
import typer

from analytics_platform.ingest.connectors.api import FivetranApi, FivetranApiError, connect
from analytics_platform.ingest.connectors.apply import apply
from analytics_platform.ingest.connectors.desired import DesiredConfigError, load_desired
from analytics_platform.ingest.connectors.plan import read_plan, render_plan
from analytics_platform.settings import MissingSettingError, load_settings, require

Command = Literal["plan", "apply"]


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def run(
    command: Command,
    client: httpx.Client,
    *,
    secrets: Iterable[str],
    config: Path | None = None,
    group_id: str | None = None,
    echo: Callable[[str], None] = print,
) -> int:
    """Plan or apply against the account ``client`` reaches; returns the exit status.

    Args:
        command: ``plan`` (read and print the difference) or ``apply`` (make it so).
        client: an authenticated ``httpx.Client`` for the API root (``.../v1/``).
        secrets: values never to print (the API key and secret).
        config: the desired state file; the repository's ``fivetran.yaml`` when None.
        group_id: only this group's connections (default: the whole account).
        echo: where lines go.

    Returns:
        0 when the plan could be read (plan) or the account now matches (apply), 1 otherwise.
    """
    hidden = list(secrets)

    def say(line: str) -> None:
        echo(redact(line, hidden))

    try:
        desired = load_desired(config)
    except DesiredConfigError as exc:
        say(f"fivetran {command}: {exc}")
        return 1
    api = FivetranApi(client)
    try:
        if command == "plan":
            plan = read_plan(api, desired, group_id)
            for line in render_plan(plan):
                say(line)
            return 1 if plan.problems else 0
        report = apply(api, desired, group_id)
    except FivetranApiError as exc:
        say(f"fivetran {command}: could not read the account: {exc}")
        return 1
    for line in report.lines():
        say(line)
    return 0 if report.ok else 1


Account = Callable[[], tuple[str, str, str]]
"""Finds the account to talk to: (API root including ``/v1``, key, secret)."""


def production_account() -> tuple[str, str, str]:
    """The account of ``FIVETRAN_API_BASE_URL``, ``FIVETRAN_API_KEY`` and ``FIVETRAN_API_SECRET``.

    Raises:
        MissingSettingError: a credential is not set.
    """
    key, secret = require("FIVETRAN_API_KEY"), require("FIVETRAN_API_SECRET")
    return load_settings().fivetran_api_base_url, key, secret


ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="the desired state (default: fivetran.yaml)")
]
GroupOption = Annotated[
    str | None, typer.Option("--group-id", help="only this destination group's connections")
]


def command_line(account: Account, help_text: str) -> typer.Typer:
    """The ``plan`` / ``apply`` commands against the account ``account`` finds.

    Args:
        account: called once per command; a ``MissingSettingError`` it raises is reported.
        help_text: the command group's help.
    """
    app = typer.Typer(help=help_text, no_args_is_help=True, add_completion=False)

    def execute(command: Command, config: Path | None, group_id: str | None) -> None:
        try:
            url, key, secret = account()
        except MissingSettingError as exc:
            typer.echo(f"fivetran {command}: {exc}", err=True)
            raise typer.Exit(1) from None
        with connect(url, key, secret) as client:
            status = run(
                command,
                client,
                secrets=(key, secret),
                config=config,
                group_id=group_id,
                echo=typer.echo,
            )
        raise typer.Exit(status)

    @app.command("plan")
    def plan_command(config: ConfigOption = None, group_id: GroupOption = None) -> None:
        """Print how the account differs from fivetran.yaml (changes nothing)."""
        execute("plan", config, group_id)

    @app.command("apply")
    def apply_command(config: ConfigOption = None, group_id: GroupOption = None) -> None:
        """Make the account match fivetran.yaml; a second apply changes nothing."""
        execute("apply", config, group_id)

    return app


app = command_line(
    production_account,
    "Fivetran connector configuration as code (fivetran.yaml): plan and apply.",
)
