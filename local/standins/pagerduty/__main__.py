"""``python -m standins.pagerduty serve --port P --home DIR``: run the PagerDuty stand-in.

The platform reaches it through ``PAGERDUTY_EVENTS_URL=http://127.0.0.1:P/v2/enqueue`` (the
stack file's ``pagerduty_events_url``), exactly as it reaches
``https://events.pagerduty.com/v2/enqueue`` in production.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from standins.pagerduty.app import create_app
from standins.pagerduty.service import Service


def build_parser() -> argparse.ArgumentParser:
    """The command line: one ``serve`` subcommand."""
    parser = argparse.ArgumentParser(prog="python -m standins.pagerduty", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the Events API v2 on 127.0.0.1")
    serve.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    serve.add_argument("--home", type=Path, required=True, help="where events.jsonl is kept")
    serve.add_argument(
        "--routing-key",
        default=None,
        help="accept only this integration key (default: accept any non-blank key)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and serve until interrupted."""
    args = build_parser().parse_args(argv)
    service = Service(home=args.home, routing_key=args.routing_key)
    uvicorn.run(
        create_app(service), host="127.0.0.1", port=args.port, log_level="warning", access_log=False
    )


if __name__ == "__main__":
    main()
