"""Trigger mode: Dagster runs the syncs on the design's cadences instead of Fivetran's scheduler.

``FIVETRAN_MODE=trigger`` turns each connector's landed tables into one materializable
multi-asset and gives it a schedule at the connector's cadence (its ``sync_frequency`` in
Fivetran, set to the design's cadences, docs/ARCHITECTURE.md: Jobs DB 15 min, ServiceTitan
30 min, Salesforce and GPS hourly, QuickBooks 6 h, Sheets daily). Triggering a sync switches
the connector to ``manual`` in Fivetran (dagster-fivetran's ``disable_schedule_on_trigger``) so
the two schedulers never both run it. A sync Fivetran reschedules (quota, maintenance) is
waited for, not failed; a failed sync is retried with exponential backoff. Only the tables the
sync changed are reported as materialized (the specs are skippable), so downstream automation
rebuilds only what changed.
"""

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import dagster as dg
from dagster_fivetran.translator import FivetranMetadataSet

from analytics_platform.ingest.changes import Dialect, detect_changes, materialization
from analytics_platform.ingest.observe import reported_watermark, with_platform_tables
from analytics_platform.settings import clean_group_name

SYNC_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
"""A failed sync is retried after ~30 s, ~60 s, ~120 s before the run fails (and alerts)."""


def cadence_cron(sync_frequency_minutes: int, daily_sync_time: str | None = None) -> str:
    """The cron of a Fivetran ``sync_frequency`` (minutes; Fivetran's allowed values)."""
    minutes = int(sync_frequency_minutes)
    if minutes < 60:
        if 60 % minutes:
            raise ValueError(f"sync_frequency {minutes} does not divide an hour")
        return f"*/{minutes} * * * *"
    if minutes < 1440:
        hours = minutes // 60
        if minutes % 60 or 24 % hours:
            raise ValueError(f"sync_frequency {minutes} does not divide a day into whole hours")
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    hour, _, minute = (daily_sync_time or "06:00").partition(":")
    return f"{int(minute or 0)} {int(hour)} * * *"


def connector_sync_assets(
    connector_id: str,
    specs: Sequence[dg.AssetSpec],
    dialect: Dialect,
    also_measured: Sequence[tuple[str, str]] = (),
    retry_policy: dg.RetryPolicy = SYNC_RETRY_POLICY,
) -> dg.AssetsDefinition:
    """One connector's tables as a multi-asset that syncs it and reports the changed tables.

    ``also_measured`` are tables the sync writes that the connector does not own (the Platform
    Connector's, when the account has none): changed ones are reported as external events.
    """
    tables = {
        spec.key: (
            FivetranMetadataSet.extract(spec.metadata).destination_schema_name,
            FivetranMetadataSet.extract(spec.metadata).destination_table_name,
        )
        for spec in specs
    }

    @dg.multi_asset(
        name=f"fivetran_sync_{clean_group_name(connector_id)}",
        specs=[spec.replace_attributes(skippable=True) for spec in specs],
        retry_policy=retry_policy,
        required_resource_keys={"fivetran", "warehouse"},
        op_tags={"fieldforce/connector": connector_id},
        description=f"Sync Fivetran connector {connector_id} and report what it landed.",
    )
    def sync(
        context: dg.AssetExecutionContext,
    ) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
        client = context.resources.fivetran.get_client()
        started = datetime.now().astimezone()
        client.sync_and_poll(connector_id)
        details = client.get_connector_details(connector_id)
        duration = (datetime.now().astimezone() - started).total_seconds()
        extra = {dg.AssetKey(["fivetran", *pair]): pair for pair in also_measured}
        measured = {**tables, **extra}
        marks = {pair: reported_watermark(context.instance, key) for key, pair in measured.items()}
        by_pair = {pair: key for key, pair in measured.items()}
        with context.resources.warehouse.get_connection() as connection:
            changes = detect_changes(connection, list(measured.values()), marks, dialect)
        context.log.info(
            "connector %s synced in %.1fs; %d of %d tables changed",
            connector_id,
            duration,
            len(changes),
            len(tables),
        )
        for change in changes:
            metadata = materialization(change, connector_id, details.get("succeeded_at"))
            metadata["fivetran/sync_duration_s"] = round(duration, 3)
            key = by_pair[(change.schema, change.table)]
            if key in extra:
                yield dg.AssetMaterialization(asset_key=key, metadata=metadata)
            else:
                yield dg.MaterializeResult(asset_key=key, metadata=metadata)

    return sync


def build_trigger_defs(
    specs: Sequence[dg.AssetSpec],
    connector_details: Mapping[str, Mapping[str, Any]],
    dialect: Dialect,
) -> dg.Definitions:
    """Sync multi-assets, one job and one schedule (running by default) per connector."""
    by_connector: dict[str, list[dg.AssetSpec]] = {}
    for spec in specs:
        connector_id = FivetranMetadataSet.extract(spec.metadata).connector_id
        if connector_id:
            by_connector.setdefault(connector_id, []).append(spec)
    platform = with_platform_tables({cid: [] for cid in by_connector})
    assets, schedules = [], []
    for connector_id, connector_specs in sorted(by_connector.items()):
        assets.append(
            connector_sync_assets(
                connector_id, connector_specs, dialect, also_measured=platform[connector_id]
            )
        )
        details = connector_details.get(connector_id, {})
        job = dg.define_asset_job(
            f"sync_{clean_group_name(connector_id)}",
            selection=dg.AssetSelection.assets(*(spec.key for spec in connector_specs)),
            # The sync op's backoff is this job's one retry mechanism: the instance's run
            # retries would repeat each of its attempts again.
            tags={"fieldforce/trigger": "schedule", "dagster/max_retries": "0"},
        )
        schedules.append(
            dg.ScheduleDefinition(
                name=f"sync_{clean_group_name(connector_id)}_schedule",
                job=job,
                cron_schedule=cadence_cron(
                    int(details.get("sync_frequency") or 1440), details.get("daily_sync_time")
                ),
                execution_timezone="UTC",
                default_status=dg.DefaultScheduleStatus.RUNNING,
                description=f"Sync {connector_id} on its cadence (FIVETRAN_MODE=trigger).",
            )
        )
    return dg.Definitions(assets=assets, schedules=schedules)
