"""The code location: the only place where Definitions are assembled.

sources → sync → raw (``ingest``) → dbt → marts (``transform``) → dashboards (``bi``), plus the automation that keeps
it fresh and the policies applied once, here, to every layer.
"""

from __future__ import annotations

import dagster as dg

from analytics_platform import automation, freshness, resources
from analytics_platform.alerts import build_alert_defs
from analytics_platform.bi.sigma import sigma_dashboard_specs
from analytics_platform.ingest import assets as ingest_assets
from analytics_platform.ingest import tenants
from analytics_platform.settings import load_settings
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
        .map_resolved_asset_specs(func=freshness.with_layer_policy)
    )
    specs = list(merged.resolve_all_asset_specs())
    # In-process execution: a dbt run is one op, so a step process of its own would only add
    # its start-up (importing the code location again) to every run's latency.
    return dg.Definitions.merge(
        merged,
        dg.Definitions(sensors=_automation_sensors(specs), executor=dg.in_process_executor),
        build_alert_defs(specs),
    )


def _automation_sensors(specs: list[dg.AssetSpec]) -> list[dg.SensorDefinition]:
    """The sync sensor, the condition sensor for everything else, and the safety net."""
    views = {spec.key for spec in specs if spec.group_name == "staging"}
    partitioned = {spec.key for spec in specs if spec.partitions_def is not None}
    # Only dbt builds: connector tables and dashboards are external, Dagster never runs them.
    built = {spec.key for spec in specs if "dbt" in spec.kinds}
    reads = {
        key: ups
        for key, ups in automation.reads_through_views(specs, views).items()
        if key in built
    }
    return [
        # A batch of landed syncs -> one run of everything downstream of it.
        automation.build_sync_sensor(
            automation.sync_rebuilds(specs),
            partitioned=partitioned,
            partitions_def=daily_partitions,
            run_tags=WAREHOUSE_TAGS,
        ),
        # One sensor for the whole dbt project: views and tables requested in the same tick
        # share one run (one dbt start-up), e.g. the first build of a fresh warehouse.
        dg.AutomationConditionSensorDefinition(
            "dbt__automation_sensor",
            target=dg.AssetSelection.all(),
            default_status=dg.DefaultSensorStatus.RUNNING,
            minimum_interval_seconds=5,
            run_tags=WAREHOUSE_TAGS,
            description=(
                "Views when missing or changed; tables when missing or when a dbt upstream"
                " (seen through views) updates outside a sync's run; reports on their cron."
            ),
        ),
        automation.build_catch_up_sensor(
            reads,
            partitioned=partitioned,
            partitions_def=daily_partitions,
        ),
    ]


defs = build_defs()
