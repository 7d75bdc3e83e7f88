"""Sources → sync → raw: the landed tables of every Fivetran connector as Dagster assets.

The specs come from the Fivetran API through dagster-fivetran (connectors, schema configs,
enabled tables), so the graph shows exactly what Fivetran is configured to land. How the graph
learns of syncs is one setting (``FIVETRAN_MODE``, see :mod:`analytics_platform.settings`):
observed (webhook receiver or polling sensor; the tables are external assets) or triggered
(:mod:`analytics_platform.ingest.trigger`; the tables are materialized by sync runs).
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
from dagster_fivetran import load_fivetran_asset_specs

from analytics_platform.ingest.changes import Dialect
from analytics_platform.ingest.fivetran import ConfigurableFivetranWorkspace
from analytics_platform.ingest.observe import (
    PLATFORM_CONNECTOR_TABLES,
    PLATFORM_SCHEMA,
    build_polling_sensor,
    tables_by_connector,
    with_platform_tables,
)
from analytics_platform.ingest.translator import FieldForceFivetranTranslator
from analytics_platform.ingest.trigger import build_trigger_defs
from analytics_platform.settings import Settings


def platform_connector_specs(loaded: Sequence[dg.AssetSpec]) -> list[dg.AssetSpec]:
    """Fivetran's own metadata tables: lineage for ``pipeline_status`` and the MAR cost model.

    Only those no connector already lands (an account with a Platform Connector has them).
    """
    have = {spec.key for spec in loaded}
    return [
        dg.AssetSpec(
            ["fivetran", PLATFORM_SCHEMA, table],
            group_name="ingest_fivetran_platform",
            kinds={"fivetran"},
            owners=["team:data-platform"],
            description=f"Fivetran Platform Connector table fivetran_metadata.{table}.",
        )
        for table in PLATFORM_CONNECTOR_TABLES
        if dg.AssetKey(["fivetran", PLATFORM_SCHEMA, table]) not in have
    ]


def fivetran_workspace(settings: Settings) -> ConfigurableFivetranWorkspace:
    """The workspace: credentials resolve from the environment at launch, never defaulted.

    A triggered sync switches its connector to manual (one scheduler per connector) and waits
    for a sync Fivetran reschedules rather than failing it.
    """
    return ConfigurableFivetranWorkspace(
        account_id="fieldforce",
        api_key=dg.EnvVar("FIVETRAN_API_KEY"),
        api_secret=dg.EnvVar("FIVETRAN_API_SECRET"),
        api_base_url=settings.fivetran_api_base_url,
        poll_interval=2.0,
        disable_schedule_on_trigger=True,
        retry_on_reschedule=False,
    )


def build_defs(settings: Settings) -> dg.Definitions:
    """Connector tables as external assets, plus the observer of the chosen mode."""
    workspace = fivetran_workspace(settings)
    specs = list(
        load_fivetran_asset_specs(
            workspace, dagster_fivetran_translator=FieldForceFivetranTranslator()
        )
    )
    dialect: Dialect = "snowflake" if settings.warehouse_type == "snowflake" else "duckdb"
    resources = {"fivetran": workspace}
    platform = dg.Definitions(assets=platform_connector_specs(specs), resources=resources)
    if settings.fivetran_mode == "trigger":
        client = workspace.get_client()
        details = {cid: client.get_connector_details(cid) for cid in tables_by_connector(specs)}
        return dg.Definitions.merge(platform, build_trigger_defs(specs, details, dialect))
    sensors: list[dg.SensorDefinition] = []
    if settings.fivetran_mode == "polling":
        sensors.append(
            build_polling_sensor(
                with_platform_tables(tables_by_connector(specs)),
                dialect,
                minimum_interval_seconds=settings.fivetran_poll_interval_s,
            )
        )
    return dg.Definitions.merge(platform, dg.Definitions(assets=specs, sensors=sensors))
