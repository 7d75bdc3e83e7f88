"""Alerting: one sensor per row of the design's alert matrix, sharing one policy and delivery.

| row of the alert matrix | sensor                                   | ``alerting.yaml`` rule    |
|-------------------------|------------------------------------------|---------------------------|
| Fivetran sync delay     | ``alerts__fivetran_sync_delay_sensor``   | ``fivetran_sync_delay``   |
| Fivetran sync failure   | ``alerts__fivetran_sync_failure_sensor`` | ``fivetran_sync_failure`` |
| dbt job failure         | ``alerts__dbt_model_failure_sensor``     | ``dbt_model_failure``     |
| dbt test failure        | ``alerts__dbt_test_failure_sensor``      | ``dbt_test_failure``      |
| freshness policy        | ``alerts__freshness_sensor``             | ``asset_freshness``       |
| raw row-count anomaly   | ``alerts__raw_row_count_anomaly_sensor`` | ``raw_row_count_anomaly`` |
| raw-vs-source drift     | ``alerts__raw_source_drift_sensor``      | ``raw_source_drift``      |
| schema drift            | ``alerts__schema_drift_sensor``          | ``schema_drift``          |
| Snowflake credit usage  | ``alerts__snowflake_cost_sensor``        | ``snowflake_credit_usage``|
| Snowflake query queue   | ``alerts__snowflake_cost_sensor``        | ``snowflake_query_queue`` |

A warning goes to Slack, a critical alert to Slack and PagerDuty. Thresholds and destinations
are ``alerting.yaml``'s (:mod:`~analytics_platform.alerts.policy`); messages are
:mod:`~analytics_platform.alerts.render`'s, delivery :mod:`~analytics_platform.alerts.deliver`'s
through the resources of :mod:`~analytics_platform.alerts.vendors`; dedup and resolve are
:mod:`~analytics_platform.alerts.incidents`'. Every sensor runs by default and keeps its state
in its cursor. The Snowflake rows read the account's usage views (:mod:`.cost`), so on the
embedded DuckDB warehouse their sensor skips, saying why; the Sigma row has no source in this
code location.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from analytics_platform.alerts.checks import build_anomaly_sensor, build_test_failure_sensor
from analytics_platform.alerts.cost import (
    SNOWFLAKE_ACCOUNT_USAGE,
    build_cost_sensor,
    load_monthly_credit_quota,
)
from analytics_platform.alerts.drift import build_schema_drift_sensor
from analytics_platform.alerts.fivetran import (
    build_delay_sensor,
    build_failure_sensor,
    connectors_of,
)
from analytics_platform.alerts.freshness import build_freshness_sensor
from analytics_platform.alerts.policy import AlertingConfig, load_alerting_config
from analytics_platform.alerts.reconciliation import build_drift_sensor
from analytics_platform.alerts.runs import build_run_failure_sensor
from analytics_platform.ingest.changes import Dialect
from analytics_platform.ingest.checks import Clock, build_raw_check_defs, utc_now
from analytics_platform.settings import load_settings


def build_alert_defs(
    specs: Sequence[dg.AssetSpec],
    *,
    config: AlertingConfig | None = None,
    clock: Clock = utc_now,
) -> dg.Definitions:
    """The alert sensors and the raw-table checks for the assets described by ``specs``.

    Args:
        specs: Every asset spec of the code location (groups, deps, freshness policies and
            Fivetran metadata are read from them).
        config: The alerting policy; ``alerting.yaml`` with links to ``DAGSTER_UI_URL`` when None.
        clock: The time sensors measure against (tests move it; production uses the wall clock).

    The sensors need the ``slack`` and ``pagerduty`` resources, and the Fivetran ones (and the
    raw-table checks) the ``fivetran`` workspace: all provided by the code location.
    """
    specs = list(specs)
    settings = load_settings()
    config = config or load_alerting_config(dagster_ui_url=settings.dagster_ui_url)
    sensors = [
        build_run_failure_sensor(specs, config, clock=clock),
        build_test_failure_sensor(config, clock=clock),
        build_freshness_sensor(specs, config, clock=clock),
        build_cost_sensor(
            config,
            account_usage=(
                SNOWFLAKE_ACCOUNT_USAGE if settings.warehouse_type == "snowflake" else None
            ),
            monthly_credit_quota=load_monthly_credit_quota(),
            clock=clock,
        ),
    ]
    connectors = connectors_of(specs)
    dialect: Dialect = "snowflake" if settings.warehouse_type == "snowflake" else "duckdb"
    if connectors:
        sensors += [
            build_delay_sensor(connectors, config, clock=clock),
            build_failure_sensor(connectors, config, dialect=dialect, clock=clock),
            build_schema_drift_sensor(specs, config, dialect=dialect, clock=clock),
            build_anomaly_sensor(specs, config, clock=clock),
            build_drift_sensor(
                specs,
                config,
                dialect="snowflake" if settings.warehouse_type == "snowflake" else "duckdb",
                clock=clock,
            ),
        ]
    return dg.Definitions.merge(
        build_raw_check_defs(specs, clock=clock), dg.Definitions(sensors=sensors)
    )


__all__ = ["build_alert_defs"]
