"""Resources built from settings: the warehouse every check and metadata query goes through.

Locally the warehouse is a DuckDB file; in production it is Snowflake. Both are exposed under
the one resource key ``warehouse`` so that Python code that queries the warehouse is written
once against a DB-API connection.
"""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from analytics_platform.notify import notifier_resources
from analytics_platform.settings import Settings, load_settings


def warehouse_resource(settings: Settings) -> dg.ConfigurableResource:
    """DuckDB locally and in CI; Snowflake (credentials from the environment) in production."""
    if settings.warehouse_type == "snowflake":
        # Imported here, not at the top: dagster-snowflake pulls in the Snowflake connector,
        # snowflake.core and Snowpark, and every run worker, sensor evaluation and
        # `dagster definitions validate` of a local/CI code location would pay for it.
        from dagster_snowflake import SnowflakeResource

        return SnowflakeResource(
            account=dg.EnvVar("SNOWFLAKE_ACCOUNT"),
            user=dg.EnvVar("SNOWFLAKE_USER"),
            password=dg.EnvVar("SNOWFLAKE_PASSWORD"),
            role=dg.EnvVar("SNOWFLAKE_ROLE"),
            warehouse=dg.EnvVar("SNOWFLAKE_WAREHOUSE"),
            database=dg.EnvVar("SNOWFLAKE_DATABASE"),
        )
    return DuckDBResource(database=str(settings.warehouse_path))


def build_defs(settings: Settings | None = None) -> dg.Definitions:
    """The resources of the code location."""
    settings = settings or load_settings()
    return dg.Definitions(
        resources={
            "warehouse": warehouse_resource(settings),
            **notifier_resources(
                slack_api_base_url=settings.slack_api_base_url,
                pagerduty_events_url=settings.pagerduty_events_url,
            ),
        }
    )


defs = build_defs()
