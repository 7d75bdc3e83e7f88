"""`python -m standins.fivetran serve ...`: run the local Fivetran on 127.0.0.1."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

import uvicorn

from standins.fivetran.api import build_app
from standins.fivetran.config import DEFAULT_CONNECTORS_YAML, SourceSettings
from standins.fivetran.service import FivetranService


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve until SIGTERM / Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m standins.fivetran")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the Fivetran REST API v1 and run syncs")
    serve.add_argument("--home", type=Path, required=True, help="service state folder")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--api-key", required=True)
    serve.add_argument("--api-secret", required=True)
    serve.add_argument("--speed", type=float, default=1.0, help="service clock speed-up")
    serve.add_argument(
        "--sources",
        type=Path,
        help="sources JSON (jobs_db_dsns, saas_dsn, telematics_dir, sheets_dir);"
        " default <home>/sources.json",
    )
    serve.add_argument(
        "--warehouse", type=Path, help="DuckDB file; default <home>/../warehouse.duckdb"
    )
    serve.add_argument("--connectors", type=Path, default=DEFAULT_CONNECTORS_YAML)
    serve.add_argument("--webhook-retry-base", type=float, default=1.0)
    serve.add_argument("--webhook-max-attempts", type=int, default=5)
    args = parser.parse_args(argv)

    home: Path = args.home.resolve()
    sources_path: Path = args.sources or home / "sources.json"
    sources = SourceSettings.from_json(sources_path) if sources_path.exists() else SourceSettings()
    warehouse = (args.warehouse or home.parent / "warehouse.duckdb").resolve()
    service = FivetranService(
        home,
        sources,
        warehouse,
        speed=args.speed,
        connectors_yaml=args.connectors,
        webhook_max_attempts=args.webhook_max_attempts,
        webhook_retry_base=args.webhook_retry_base,
    )
    app = build_app(service, args.api_key, args.api_secret)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    sys.stderr.write(
        json.dumps({"fivetran_api_url": f"http://127.0.0.1:{args.port}/v1", "home": str(home)})
        + "\n"
    )
    try:
        uvicorn.run(
            app,
            host="127.0.0.1",
            port=args.port,
            log_level="warning",
            timeout_graceful_shutdown=3,
        )
    finally:
        service.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
