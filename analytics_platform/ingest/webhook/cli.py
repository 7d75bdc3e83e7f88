"""The receiver's command line: ``python -m analytics_platform.ingest.webhook --port P``.

Settings come from the environment (see ``.env.example``): the Fivetran API key and secret,
the webhook secret, the warehouse, and the Dagster webserver's URL. With ``--public-url`` the
receiver keeps its own Fivetran account webhook while it runs (:mod:`.registration`): one
subscription, created or updated at start-up, removed at shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated, Any

import typer

from analytics_platform.batching import RECEIVER_QUIET_S
from analytics_platform.ingest.changes import Dialect
from analytics_platform.ingest.observe import fetch_tables_by_connector, with_platform_tables
from analytics_platform.ingest.webhook.app import create_app
from analytics_platform.ingest.webhook.debounce import Debouncer
from analytics_platform.ingest.webhook.observer import SyncObserver
from analytics_platform.ingest.webhook.registration import WebhookRegistration, lifespan
from analytics_platform.ingest.webhook.reporting import graphql_reported, report
from analytics_platform.ingest.webhook.sweep import SWEEP_INTERVAL_S, start_sweep

PROG = "python -m analytics_platform.ingest.webhook"

app = typer.Typer(
    help="The Fivetran webhook receiver: sync_end in, materializations of changed tables out.",
    add_completion=False,
)


def _warehouse_connections() -> Callable[[], AbstractContextManager[Any]]:
    """Connections to the warehouse the settings name (DuckDB or Snowflake)."""
    from analytics_platform.resources import warehouse_resource
    from analytics_platform.settings import load_settings

    resource = warehouse_resource(load_settings())

    def connect() -> AbstractContextManager[Any]:
        return resource.get_connection()  # type: ignore[attr-defined]

    return connect


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port to listen on.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    quiet: Annotated[
        float, typer.Option(help="Seconds without sync events before reporting.")
    ] = RECEIVER_QUIET_S,
    sweep_s: Annotated[
        float, typer.Option("--sweep", help="Seconds between sweeps of the Fivetran API.")
    ] = SWEEP_INTERVAL_S,
    public_url: Annotated[
        str | None,
        typer.Option(
            help="URL at which Fivetran reaches this receiver's /webhooks/fivetran route: the"
            " receiver registers it as its account webhook at start-up (updating the one it"
            " registered before, deleting its stale ones) and removes it at shutdown."
            " Unset: nothing is registered."
        ),
    ] = None,
    receiver_id: Annotated[
        str,
        typer.Option(
            help="Marks this deployment's webhook; deployments sharing a Fivetran account"
            " need distinct ids."
        ),
    ] = "fieldforce",
) -> None:
    """Serve the receiver (settings from the environment)."""
    import uvicorn

    from analytics_platform.ingest.fivetran import ConfigurableFivetranWorkspace
    from analytics_platform.settings import load_settings, require

    logging.basicConfig(level=logging.INFO)
    settings = load_settings()
    workspace = ConfigurableFivetranWorkspace(
        account_id="fieldforce",
        api_key=require("FIVETRAN_API_KEY"),
        api_secret=require("FIVETRAN_API_SECRET"),
        api_base_url=settings.fivetran_api_base_url,
    )
    dialect: Dialect = "snowflake" if settings.warehouse_type == "snowflake" else "duckdb"
    dagster_url = settings.dagster_ui_url
    # The watermarks are what the webserver's instance holds: nothing is kept beside the process.
    observer = SyncObserver(
        lambda: with_platform_tables(fetch_tables_by_connector(workspace.get_client())),
        _warehouse_connections(),
        graphql_reported(dagster_url),
        dialect,
        connector_details=lambda cid: workspace.get_client().get_connector_details(cid),
    )
    registration = (
        WebhookRegistration(
            api_base_url=settings.fivetran_api_base_url,
            api_key=require("FIVETRAN_API_KEY"),
            api_secret=require("FIVETRAN_API_SECRET"),
            public_url=public_url,
            webhook_secret=require("FIVETRAN_WEBHOOK_SECRET"),
            receiver_id=receiver_id,
        )
        if public_url
        else None
    )
    debouncer = Debouncer(lambda event: report(dagster_url, event), quiet_s=quiet).start()
    receiver = create_app(
        require("FIVETRAN_WEBHOOK_SECRET"),
        observer,
        lambda event: report(dagster_url, event),
        debouncer,
        lifespan(registration) if registration else None,
    )
    start_sweep(observer, workspace, debouncer, sweep_s)
    # lifespan="on": a failed registration must stop the receiver, not be taken for an app
    # without lifespan support.
    uvicorn.run(receiver, host=host, port=port, log_level="warning", lifespan="on")


def main(argv: list[str] | None = None) -> None:
    """Run the command line on ``argv`` (default: the process's arguments)."""
    app(args=argv, prog_name=PROG)
