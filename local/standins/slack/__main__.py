"""``python -m standins.slack serve --port P --token T --home DIR``: run the Slack stand-in.

The platform reaches it through ``SLACK_API_BASE_URL=http://127.0.0.1:P/api/`` (the stack
file's ``slack_api_url``), exactly as it reaches ``https://slack.com/api/`` in production.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from standins.slack.app import create_app
from standins.slack.workspace import DEFAULT_CHANNELS, Workspace, parse_channel_names


def build_parser() -> argparse.ArgumentParser:
    """The command line: one ``serve`` subcommand."""
    parser = argparse.ArgumentParser(prog="python -m standins.slack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the Slack Web API on 127.0.0.1")
    serve.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    serve.add_argument("--token", required=True, help="the bot token callers must present")
    serve.add_argument("--home", type=Path, required=True, help="where messages.jsonl is kept")
    serve.add_argument(
        "--channels",
        default=",".join(DEFAULT_CHANNELS),
        help="comma-separated public channels the bot is in (default: %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and serve until interrupted."""
    args = build_parser().parse_args(argv)
    workspace = Workspace(home=args.home, channel_names=parse_channel_names(args.channels))
    app = create_app(token=args.token, workspace=workspace)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
