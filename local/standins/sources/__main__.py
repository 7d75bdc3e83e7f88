"""``python -m standins.sources``: generate, advance, stream and check the source estate.

Every subcommand starts PostgreSQL on the home's data directory and stops it on exit; a
server that another live process started there (``fieldforce up``) is used and left running.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from standins.sources.config import DEFAULT_SCALE, DEFAULT_SEED
from standins.sources.errors import EstateError
from standins.sources.estate import Estate, default_home


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m standins.sources", description=__doc__)
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="FIELDFORCE_HOME (default: $FIELDFORCE_HOME or .fieldforce)",
    )
    parser.add_argument(
        "--port", type=int, default=None, help="PostgreSQL port (default: reuse or pick a free one)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="build the initial history (drops existing estate data)")
    gen.add_argument("--seed", default=None, help=f"generator seed (default {DEFAULT_SEED})")
    gen.add_argument(
        "--scale",
        default=None,
        help=f"volume factor in (0, 1] (default {DEFAULT_SCALE}; 1 = SDD volumes)",
    )
    gen.add_argument("--tenants", type=int, default=None, help="number of tenants, 1-8 (default 2)")
    adv = sub.add_parser("advance", help="advance the simulated clock and apply the changes")
    adv.add_argument("minutes", type=float)
    stream = sub.add_parser("stream", help="advance in real time until interrupted")
    stream.add_argument(
        "--speed", type=float, default=60.0, help="simulated seconds per real second"
    )
    truth = sub.add_parser(
        "truth", help="print (or write) the ground truth computed from the sources"
    )
    truth.add_argument("--out", type=Path, default=None)
    sub.add_parser("checksums", help="print per-table checksums")
    sub.add_parser("info", help="print connection info as JSON")
    return parser


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; errors print as one line and exit with status 2."""
    args = _parser().parse_args(argv)
    try:
        estate = Estate(
            args.home or default_home(),
            seed=getattr(args, "seed", None),
            scale=getattr(args, "scale", None),
            tenants=getattr(args, "tenants", None),
            port=args.port,
        )
        estate.start()
        try:
            return _run(estate, args)
        finally:
            estate.stop()
    except EstateError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2


def _run(estate: Estate, args: argparse.Namespace) -> int:
    if args.command == "generate":
        report = estate.generate(lambda stage, done, total: _print(f"[{done}/{total}] {stage}"))
        _print(json.dumps({"rows": report.rows, "seconds": report.seconds}, indent=1))
    elif args.command == "advance":
        _print(estate.advance(args.minutes).isoformat())
    elif args.command == "stream":
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        _print(f"streaming at {args.speed}x from {estate.clock.isoformat()}; Ctrl-C stops")
        estate.run_change_stream(args.speed, stop)
        _print(f"stopped at {estate.clock.isoformat()}")
    elif args.command == "truth":
        if args.out:
            _print(str(estate.write_ground_truth(args.out)))
        else:
            _print(json.dumps(estate.ground_truth(), indent=1))
    elif args.command == "checksums":
        _print(json.dumps(estate.checksums(), indent=1))
    elif args.command == "info":
        _print(json.dumps(estate.connection_info(), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
