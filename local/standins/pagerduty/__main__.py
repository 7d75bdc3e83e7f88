"""``python -m standins.pagerduty serve --port P --home DIR``: run the PagerDuty stand-in.

The platform reaches it through ``PAGERDUTY_EVENTS_URL=http://127.0.0.1:P/v2/enqueue`` (the
stack file's ``pagerduty_events_url``), exactly as it reaches
``https://events.pagerduty.com/v2/enqueue`` in production.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from standins.pagerduty.app import create_app
from standins.pagerduty.service import Service

app = typer.Typer(
    help=__doc__, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False
)


@app.callback()
def _commands() -> None:
    """Keep ``serve`` a subcommand even though it is the only one."""


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")],
    home: Annotated[Path, typer.Option(help="where events.jsonl is kept")],
    routing_key: Annotated[
        str | None,
        typer.Option(help="accept only this integration key (default: accept any non-blank key)"),
    ] = None,
) -> None:
    """Serve the Events API v2 on 127.0.0.1 until interrupted."""
    service = Service(home=home, routing_key=routing_key)
    uvicorn.run(
        create_app(service), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and serve until interrupted.

    Args:
        argv: The arguments after the program name (default: ``sys.argv[1:]``).
    """
    app(args=None if argv is None else list(argv), prog_name="python -m standins.pagerduty")


if __name__ == "__main__":
    main()
