"""Sources → sync → raw: the landed tables of every Fivetran connector as Dagster assets.

The specs come from the Fivetran API through dagster-fivetran (connectors, schema configs,
enabled tables), so the graph shows exactly what Fivetran is configured to land. How the graph
learns of syncs is one setting (``FIVETRAN_MODE``, see :mod:`analytics_platform.settings`).
"""

from __future__ import annotations

import dagster as dg
from dagster_fivetran import load_fivetran_asset_specs

from analytics_platform.ingest.fivetran import ConfigurableFivetranWorkspace
from analytics_platform.ingest.observe import build_polling_sensor, tables_by_connector
from analytics_platform.ingest.translator import FieldForceFivetranTranslator
from analytics_platform.settings import Settings

PLATFORM_CONNECTOR_TABLES = ("connection", "log", "incremental_mar")
"""Tables of the Fivetran Platform Connector (``fivetran_metadata``) that dbt reads."""


def platform_connector_specs() -> list[dg.AssetSpec]:
    """Fivetran's own metadata tables: lineage for ``pipeline_status`` and the MAR cost model."""
    return [
        dg.AssetSpec(
            ["fivetran", "fivetran_metadata", table],
            group_name="ingest_fivetran_platform",
            kinds={"fivetran"},
            owners=["team:data-platform"],
            description=f"Fivetran Platform Connector table fivetran_metadata.{table}.",
        )
        for table in PLATFORM_CONNECTOR_TABLES
    ]


def fivetran_workspace(settings: Settings) -> ConfigurableFivetranWorkspace:
    """The workspace: credentials resolve from the environment at launch, never defaulted."""
    return ConfigurableFivetranWorkspace(
        account_id="fieldforce",
        api_key=dg.EnvVar("FIVETRAN_API_KEY"),
        api_secret=dg.EnvVar("FIVETRAN_API_SECRET"),
        api_base_url=settings.fivetran_api_base_url,
        poll_interval=2.0,
    )


def build_defs(settings: Settings) -> dg.Definitions:
    """Connector tables as external assets, plus the observer of the chosen mode."""
    workspace = fivetran_workspace(settings)
    specs = list(
        load_fivetran_asset_specs(
            workspace, dagster_fivetran_translator=FieldForceFivetranTranslator()
        )
    )
    sensors: list[dg.SensorDefinition] = []
    if settings.fivetran_mode == "polling":
        dialect = "snowflake" if settings.warehouse_type == "snowflake" else "duckdb"
        sensors.append(build_polling_sensor(tables_by_connector(specs), dialect))
    return dg.Definitions(
        assets=[*specs, *platform_connector_specs()],
        sensors=sensors,
        resources={"fivetran": workspace},
    )
