"""Observe syncs that Fivetran schedules: turn a finished sync into materializations.

Two ways in, one setting (``FIVETRAN_MODE``) chooses: ``webhook`` (Fivetran POSTs ``sync_end``
to :mod:`analytics_platform.ingest.webhook`, seconds) or ``polling`` (this module's sensor asks
the API for ``succeeded_at``/``failed_at``, every ``minimum_interval_seconds``). Both report only
the tables the sync changed (:mod:`analytics_platform.ingest.changes`); a failed sync reports
no materialization (so nothing downstream runs) but an observation that makes the failure
visible on every table of the connector.

What has been reported is the instance's own record: each landed table's latest materialization
carries its watermark (``fivetran/synced_through``) and its latest failure observation the
failed sync's time. :class:`Reported` is that record; the trigger mode and the webhook receiver
read it back (:func:`instance_reported`, or through the webserver), so no process keeps a file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dagster as dg
from dagster_fivetran.translator import FivetranMetadataSet

from analytics_platform.ingest.changes import (
    SYNCED_THROUGH,
    Dialect,
    detect_changes,
    materialization,
)

PLATFORM_SCHEMA = "fivetran_metadata"
PLATFORM_CONNECTOR_TABLES = ("connection", "log", "incremental_mar")
"""Tables of the Fivetran Platform Connector (``fivetran_metadata``) that dbt reads."""


FAILED_AT = "fivetran/failed_at"
"""Observation metadata: when the failed sync that the observation reports ended."""


@dataclass(frozen=True)
class Reported:
    """What Dagster has already been told about one landed table (its latest events)."""

    synced_through: datetime | None = None
    """The watermark: ``fivetran/synced_through`` of the table's latest materialization."""
    failed_at: str | None = None
    """``fivetran/failed_at`` of the table's latest observation of a failed sync."""


ReportedReader = Callable[[Sequence[dg.AssetKey]], Mapping[dg.AssetKey, Reported]]
"""Reads :class:`Reported` for landed tables from the Dagster instance (directly or through
the webserver); a table Dagster never heard of maps to ``Reported()`` or is left out."""


def reported_watermark(instance: dg.DagsterInstance, key: dg.AssetKey) -> datetime | None:
    """The ``_fivetran_synced`` already reported for a table (from its last materialization)."""
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    value = event.asset_materialization.metadata.get(SYNCED_THROUGH)
    return datetime.fromisoformat(str(value.value)) if value is not None else None


def instance_reported(instance: dg.DagsterInstance) -> ReportedReader:
    """A :data:`ReportedReader` over a Dagster instance the process holds."""

    def read(keys: Sequence[dg.AssetKey]) -> dict[dg.AssetKey, Reported]:
        result = {}
        for key in keys:
            failed_at = None
            observations = instance.fetch_observations(key, limit=1).records
            if observations and observations[0].asset_observation is not None:
                value = observations[0].asset_observation.metadata.get(FAILED_AT)
                failed_at = str(value.value) if value is not None else None
            result[key] = Reported(reported_watermark(instance, key), failed_at)
        return result

    return read


def with_platform_tables(
    tables: Mapping[str, Sequence[tuple[str, str]]],
) -> dict[str, list[tuple[str, str]]]:
    """Measure the Platform Connector's tables after every sync, unless a connector owns them.

    Every sync writes its log, MAR and connection rows; when the account has no Platform
    Connector of its own (the local Fivetran), those tables change with each connector's sync
    and are measured with it. With a real Platform Connector they are its tables, measured
    when it syncs.
    """
    owned = any(schema == PLATFORM_SCHEMA for pairs in tables.values() for schema, _ in pairs)
    extra = [] if owned else [(PLATFORM_SCHEMA, table) for table in PLATFORM_CONNECTOR_TABLES]
    return {cid: sorted({*pairs, *extra}) for cid, pairs in tables.items()}


def tables_by_connector(specs: Sequence[dg.AssetSpec]) -> dict[str, list[tuple[str, str]]]:
    """``connector_id -> [(schema, table)]`` from the Fivetran asset specs' metadata."""
    result: dict[str, list[tuple[str, str]]] = {}
    for spec in specs:
        meta = FivetranMetadataSet.extract(spec.metadata)
        if meta.connector_id and meta.destination_schema_name and meta.destination_table_name:
            result.setdefault(meta.connector_id, []).append(
                (meta.destination_schema_name, meta.destination_table_name)
            )
    return {key: sorted(tables) for key, tables in result.items()}


def _newer(value: str | None, seen: str | None) -> bool:
    if not value:
        return False
    if not seen:
        return True
    return datetime.fromisoformat(value.replace("Z", "+00:00")) > datetime.fromisoformat(
        seen.replace("Z", "+00:00")
    )


def observe_connector(
    connection: Any,
    connector_id: str,
    details: Mapping[str, Any],
    tables: Sequence[tuple[str, str]],
    state: dict[str, Any],
    dialect: Dialect = "duckdb",
) -> list[dg.AssetMaterialization | dg.AssetObservation]:
    """Events for one connector since ``state`` (updated in place: seen sync times, watermarks).

    Args:
        connection: DB-API connection to the warehouse.
        connector_id: the connector.
        details: the connector object from the Fivetran API (``succeeded_at``, ``failed_at``,
            ``status``).
        tables: its enabled ``(schema, table)`` pairs.
        state: ``{"connectors": {id: {"succeeded_at", "failed_at"}}, "watermarks": {...}}``.
        dialect: the warehouse's identifier quoting.
    """
    seen = state.setdefault("connectors", {}).setdefault(connector_id, {})
    watermarks: dict[str, str] = state.setdefault("watermarks", {})
    events: list[dg.AssetMaterialization | dg.AssetObservation] = []
    failed_at, succeeded_at = details.get("failed_at"), details.get("succeeded_at")
    if _newer(failed_at, seen.get("failed_at")):
        seen["failed_at"] = failed_at
        message = (details.get("status") or {}).get("tasks") or details.get("status")
        for schema, table in tables:
            events.append(
                dg.AssetObservation(
                    asset_key=dg.AssetKey(["fivetran", schema, table]),
                    description=f"Fivetran sync of {connector_id} FAILED at {failed_at}",
                    metadata={
                        "fivetran/sync_status": "FAILURE",
                        FAILED_AT: failed_at,
                        "fivetran/status": json.dumps(message, default=str)[:2000],
                    },
                )
            )
    if _newer(succeeded_at, seen.get("succeeded_at")):
        seen["succeeded_at"] = succeeded_at
        marks = {
            (schema, table): datetime.fromisoformat(watermarks[f"{schema}.{table}"])
            for schema, table in tables
            if f"{schema}.{table}" in watermarks
        }
        for change in detect_changes(connection, tables, marks, dialect):
            watermarks[f"{change.schema}.{change.table}"] = change.synced_through.isoformat()
            events.append(
                dg.AssetMaterialization(
                    asset_key=dg.AssetKey(change.asset_path),
                    description=f"Fivetran sync of {connector_id} landed rows",
                    metadata=materialization(change, connector_id, succeeded_at),
                )
            )
    return events


def build_polling_sensor(
    tables: Mapping[str, Sequence[tuple[str, str]]],
    dialect: Dialect = "duckdb",
    minimum_interval_seconds: int = 30,
) -> dg.SensorDefinition:
    """The polling path: ask the Fivetran API which connectors finished a sync since last tick.

    Replaces dagster-fivetran's polling sensor, which reports every table of a connector after
    every sync (so a sync that lands nothing would rebuild everything downstream) and sends
    unresolved ``EnvVar`` names as credentials.
    """

    @dg.sensor(
        name="fivetran__sync_observer_sensor",
        description="Reports the tables each finished Fivetran sync changed (polling mode).",
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        required_resource_keys={"fivetran", "warehouse"},
    )
    def observer(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        state: dict[str, Any] = json.loads(context.cursor) if context.cursor else {}
        client = context.resources.fivetran.get_client()
        events: list[dg.AssetMaterialization | dg.AssetObservation] = []
        with context.resources.warehouse.get_connection() as connection:
            for connector_id, pairs in tables.items():
                details = client.get_connector_details(connector_id)
                events += observe_connector(
                    connection, connector_id, details, pairs, state, dialect
                )
        return dg.SensorResult(asset_events=events, cursor=json.dumps(state, sort_keys=True))

    return observer


def fetch_tables_by_connector(client: Any) -> dict[str, list[tuple[str, str]]]:
    """``connector_id -> [(schema, table)]`` of enabled tables, asked of the Fivetran API."""
    result: dict[str, list[tuple[str, str]]] = {}
    for group in client.get_groups()["items"]:
        for connector in client.list_connectors_for_group(group["id"]):
            config = client.get_schema_config_for_connector(connector["id"])
            pairs = [
                (schema["name_in_destination"], table["name_in_destination"])
                for schema in config.get("schemas", {}).values()
                if schema.get("enabled", True)
                for table in schema.get("tables", {}).values()
                if table.get("enabled", True)
            ]
            result[connector["id"]] = sorted(pairs)
    return result
