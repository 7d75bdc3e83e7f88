"""`python -m standins.fivetran serve ...`: run the local Fivetran on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from standins.fivetran.config import DEFAULT_CONNECTORS_YAML

app = typer.Typer(help="The local Fivetran: REST API v1, syncs and webhooks.", add_completion=False)


@app.callback()
def _group() -> None:
    """Keep ``serve`` a subcommand, as the launcher and the builder call it."""


@app.command()
def serve(
    home: Annotated[Path, typer.Option(help="Service state folder.")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")],
    api_key: Annotated[str, typer.Option(help="API key clients must present.")],
    api_secret: Annotated[str, typer.Option(help="API secret clients must present.")],
    speed: Annotated[float, typer.Option(help="Service clock speed-up.")] = 1.0,
    sources: Annotated[
        Path | None,
        typer.Option(
            help="Sources JSON (jobs_db_dsns, saas_dsn, telematics_dir, sheets_dir);"
            " default <home>/sources.json."
        ),
    ] = None,
    warehouse: Annotated[
        Path | None, typer.Option(help="DuckDB file; default <home>/../warehouse.duckdb.")
    ] = None,
    connectors: Annotated[Path, typer.Option(help="Connector config.")] = DEFAULT_CONNECTORS_YAML,
    webhook_retry_base: Annotated[float, typer.Option(help="First retry delay, seconds.")] = 1.0,
    webhook_max_attempts: Annotated[int, typer.Option(help="Deliveries per event.")] = 5,
) -> None:
    """Serve the Fivetran REST API v1 and run syncs until SIGTERM / Ctrl-C."""
    import uvicorn

    from standins.fivetran.api import build_app
    from standins.fivetran.config import SourceSettings
    from standins.fivetran.service import FivetranService

    home = home.resolve()
    sources_path = sources or home / "sources.json"
    settings = SourceSettings.from_json(sources_path) if sources_path.exists() else SourceSettings()
    service = FivetranService(
        home,
        settings,
        (warehouse or home.parent / "warehouse.duckdb").resolve(),
        speed=speed,
        connectors_yaml=connectors,
        webhook_max_attempts=webhook_max_attempts,
        webhook_retry_base=webhook_retry_base,
    )
    api = build_app(service, api_key, api_secret)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    sys.stderr.write(
        json.dumps({"fivetran_api_url": f"http://127.0.0.1:{port}/v1", "home": str(home)}) + "\n"
    )
    try:
        uvicorn.run(
            api, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=3
        )
    finally:
        service.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the command line (``argv`` for tests; the process's arguments otherwise)."""
    app(args=argv, prog_name="python -m standins.fivetran")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
