"""``python -m standins.slack serve --port P --token T --home DIR``: run the Slack stand-in.

The platform reaches it through ``SLACK_API_BASE_URL=http://127.0.0.1:P/api/`` (the stack
file's ``slack_api_url``), exactly as it reaches ``https://slack.com/api/`` in production.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from standins.slack.app import create_app
from standins.slack.workspace import DEFAULT_CHANNELS, Workspace, parse_channel_names

app = typer.Typer(
    help=__doc__, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False
)


@app.callback()
def _commands() -> None:
    """Keep ``serve`` a subcommand even though it is the only one."""


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")],
    token: Annotated[str, typer.Option(help="the bot token callers must present")],
    home: Annotated[Path, typer.Option(help="where messages.jsonl is kept")],
    channels: Annotated[
        str,
        typer.Option(help="comma-separated public channels the bot is in", show_default=True),
    ] = ",".join(DEFAULT_CHANNELS),
) -> None:
    """Serve the Slack Web API on 127.0.0.1 until interrupted."""
    workspace = Workspace(home=home, channel_names=parse_channel_names(channels))
    uvicorn.run(
        create_app(token=token, workspace=workspace),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and serve until interrupted.

    Args:
        argv: The arguments after the program name (default: ``sys.argv[1:]``).
    """
    app(args=None if argv is None else list(argv), prog_name="python -m standins.slack")


if __name__ == "__main__":
    main()
