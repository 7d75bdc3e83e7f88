"""The code location: the only place where Definitions are assembled.

sources → sync → raw (``ingest``) → dbt → marts (``transform``) → dashboards (``bi``), plus the automation that keeps
it fresh and the policies applied once, here, to every layer.
"""

from __future__ import annotations

import dagster as dg

from analytics_platform import resources
from analytics_platform.alerts import build_alert_defs
from analytics_platform.automation import conditions, planner_sensor, savings
from analytics_platform.automation.expected import connector_tables
from analytics_platform.automation.policy import with_declared_freshness
from analytics_platform.bi.sigma import sigma_dashboard_specs
from analytics_platform.ingest import assets as ingest_assets
from analytics_platform.ingest import tenants
from analytics_platform.settings import Settings, load_settings
from analytics_platform.transform import assets as transform_assets
from analytics_platform.transform.assets import WAREHOUSE_TAGS
from analytics_platform.transform.partitions import daily_partitions
from analytics_platform.transform.project import dbt_project


def build_defs() -> dg.Definitions:
    """Merge every concern's definitions and apply the cross-cutting policies once."""
    settings = load_settings()
    ingest = ingest_assets.build_defs(settings)
    landed = [spec.key for spec in ingest.resolve_all_asset_specs()]
    bi = dg.Definitions(
        assets=sigma_dashboard_specs(dbt_project.manifest_path, transform_assets.translator)
    )
    merged = (
        dg.Definitions.merge(resources.defs, ingest, transform_assets.defs, bi)
        .map_resolved_asset_specs(func=tenants.with_all_tenants(landed))
        .map_resolved_asset_specs(func=with_declared_freshness)
    )
    # Tables that declare a cron run on it; the others build once, then as the planner decides.
    merged = merged.map_resolved_asset_specs(func=conditions.with_planner_condition)
    specs = list(merged.resolve_all_asset_specs())
    checks: dict[dg.AssetKey, set[dg.AssetCheckKey]] = {}
    for check in merged.resolve_asset_graph().asset_check_keys:
        checks.setdefault(check.asset_key, set()).add(check)
    # In-process execution: a dbt run is one op, so a step process of its own would only add
    # its start-up (importing the code location again) to every run's latency.
    return dg.Definitions.merge(
        merged,
        dg.Definitions(
            sensors=_automation_sensors(specs, settings, checks),
            executor=dg.in_process_executor,
        ),
        build_alert_defs(specs),
        # The savings mart reads every planned asset's builds and declares its own policy.
        savings.build_defs(specs),
    )


def _automation_sensors(
    specs: list[dg.AssetSpec],
    settings: Settings,
    checks: dict[dg.AssetKey, set[dg.AssetCheckKey]],
) -> list[dg.SensorDefinition]:
    """The planner (every rebuild caused by data) and the condition sensor (the rest).

    One condition sensor for the whole project: the first builds, views and reports it asks for
    in one tick share one run (one dbt start-up), e.g. the first build of a fresh warehouse.
    """
    partitioned = {spec.key for spec in specs if spec.partitions_def is not None}
    return [
        planner_sensor.build_planner_sensor(
            specs,
            partitioned=partitioned,
            partitions_def=daily_partitions,
            run_tags=WAREHOUSE_TAGS,
            time_scale=settings.planner_time_scale,
            checks={key: frozenset(found) for key, found in checks.items()},
            connector_tables=connector_tables(specs),
        ),
        dg.AutomationConditionSensorDefinition(
            "dbt__automation_sensor",
            target=dg.AssetSelection.all(),
            default_status=dg.DefaultSensorStatus.RUNNING,
            minimum_interval_seconds=5,
            run_tags=WAREHOUSE_TAGS,
            description=(
                "First builds of missing tables, views when missing or changed, reports on"
                " their cron; rebuilds on data are automation__planner's."
            ),
        ),
    ]


defs = build_defs()
