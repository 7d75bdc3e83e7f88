"""``python -m standins.sources``: generate, advance, stream and check the source estate.

Every subcommand starts PostgreSQL on the home's data directory and stops it on exit; a
server that another live process started there (``fieldforce up``) is used and left running.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from standins.sources.config import DEFAULT_SCALE, DEFAULT_SEED, DEFAULT_SPEED
from standins.sources.errors import EstateError
from standins.sources.estate import Estate, default_home

PROG = "python -m standins.sources"

app = typer.Typer(
    help=__doc__,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@dataclass(frozen=True)
class _Where:
    """The options every subcommand shares: where the estate lives and its port."""

    home: Path | None
    port: int | None


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _run(
    ctx: typer.Context,
    body: Callable[[Estate], None],
    *,
    seed: str | None = None,
    scale: str | None = None,
    tenants: int | None = None,
) -> None:
    """Start the estate, run ``body`` on it and stop it; errors print as one line, status 2."""
    where: _Where = ctx.obj
    try:
        estate = Estate(
            where.home or default_home(),
            seed=seed,
            scale=scale,
            tenants=tenants,
            port=where.port,
        )
        estate.start()
        try:
            body(estate)
        finally:
            estate.stop()
    except EstateError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise typer.Exit(2) from None


@app.callback()
def _options(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(help="FIELDFORCE_HOME (default: $FIELDFORCE_HOME or .fieldforce)"),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="PostgreSQL port (default: reuse or pick a free one)")
    ] = None,
) -> None:
    ctx.obj = _Where(home, port)


@app.command()
def generate(
    ctx: typer.Context,
    seed: Annotated[
        str | None, typer.Option(help=f"generator seed (default {DEFAULT_SEED})")
    ] = None,
    scale: Annotated[
        str | None,
        typer.Option(
            help=f"volume factor in (0, 1] (default {DEFAULT_SCALE}; 1 = the full-size estate)"
        ),
    ] = None,
    tenants: Annotated[int | None, typer.Option(help="number of tenants, 1-8 (default 2)")] = None,
) -> None:
    """Build the initial history (drops existing estate data)."""

    def body(estate: Estate) -> None:
        report = estate.generate(lambda stage, done, total: _print(f"[{done}/{total}] {stage}"))
        _print(json.dumps({"rows": report.rows, "seconds": report.seconds}, indent=1))

    _run(ctx, body, seed=seed, scale=scale, tenants=tenants)


@app.command()
def advance(ctx: typer.Context, minutes: float) -> None:
    """Advance the simulated clock and apply the changes."""
    _run(ctx, lambda estate: _print(estate.advance(minutes).isoformat()))


@app.command()
def stream(
    ctx: typer.Context,
    speed: Annotated[float, typer.Option(help="simulated seconds per real second")] = DEFAULT_SPEED,
) -> None:
    """Advance in real time until interrupted."""

    def body(estate: Estate) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        _print(f"streaming at {speed}x from {estate.clock.isoformat()}; Ctrl-C stops")
        estate.run_change_stream(speed, stop)
        _print(f"stopped at {estate.clock.isoformat()}")

    _run(ctx, body)


@app.command()
def truth(ctx: typer.Context, out: Annotated[Path | None, typer.Option()] = None) -> None:
    """Print (or write) the ground truth computed from the sources."""

    def body(estate: Estate) -> None:
        if out:
            _print(str(estate.write_ground_truth(out)))
        else:
            _print(json.dumps(estate.ground_truth(), indent=1))

    _run(ctx, body)


@app.command()
def checksums(ctx: typer.Context) -> None:
    """Print per-table checksums."""
    _run(ctx, lambda estate: _print(json.dumps(estate.checksums(), indent=1)))


@app.command()
def info(ctx: typer.Context) -> None:
    """Print connection info as JSON."""
    _run(ctx, lambda estate: _print(json.dumps(estate.connection_info(), indent=1)))


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand and return its exit status.

    Args:
        argv: The arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
        0 on success, 2 for an estate error or a usage error.
    """
    try:
        app(args=argv, prog_name=PROG)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
