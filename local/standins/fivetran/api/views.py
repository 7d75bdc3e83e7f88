"""How groups, destinations, connectors and schema configs look in Fivetran's API."""

from __future__ import annotations

from typing import Any

from standins.fivetran.service import FivetranService
from standins.sources import catalog


def group_view(service: FivetranService) -> dict[str, Any]:
    """The account's one group."""
    group = service.account.group
    return {"id": group.id, "name": group.name, "created_at": "2024-01-01T00:00:00.000Z"}


def destination_view(service: FivetranService) -> dict[str, Any]:
    """The group's destination (Fivetran gives it the group's id)."""
    group = service.account.group
    dest = group.destination
    return {
        "id": group.id,
        "group_id": group.id,
        "service": dest.get("service", "duckdb"),
        "region": dest.get("region", "LOCAL"),
        "time_zone_offset": dest.get("time_zone_offset", "0"),
        "setup_status": "connected",
        "config": {"database": dest.get("database", "warehouse")},
    }


def connector_view(service: FivetranService, cid: str) -> dict[str, Any]:
    """A connection with its live status, as `GET /v1/connections/{id}` shows it."""
    conn = service.connector(cid)
    runtime = service.runtime[cid]
    connected = service.source_configured(conn)
    status: dict[str, Any] = {
        "setup_state": "connected" if connected else "incomplete",
        "schema_status": "ready",
        "sync_state": service.sync_state(cid),
        "update_state": "delayed" if runtime.get("failures_in_a_row") else "on_schedule",
        "is_historical_sync": bool(runtime.get("is_historical_sync")),
        "tasks": (
            [{"code": "sync_failed", "message": runtime["last_error"]}]
            if runtime.get("last_error")
            else []
        ),
        "warnings": [],
    }
    if runtime.get("rescheduled_for"):
        status["rescheduled_for"] = runtime["rescheduled_for"]
    config: dict[str, Any] = {"source_schema": conn.catalog_system.schema}
    if conn.tenant:
        config["database"] = f"jobs_{conn.tenant}"
        config["update_method"] = "QUERY_BASED"
    return {
        "id": cid,
        "group_id": service.account.group.id,
        "service": conn.service,
        "service_version": 1,
        "schema": conn.schema,
        "connected_by": "local_admin",
        "created_at": runtime["created_at"],
        "succeeded_at": runtime.get("succeeded_at"),
        "failed_at": runtime.get("failed_at"),
        "paused": runtime["paused"],
        "pause_after_trial": False,
        "sync_frequency": runtime["sync_frequency"],
        "schedule_type": runtime["schedule_type"],
        "daily_sync_time": runtime.get("daily_sync_time", "00:00"),
        "data_delay_sensitivity": "NORMAL",
        "status": status,
        "config": config,
    }


def schema_config(service: FivetranService, cid: str) -> dict[str, Any]:
    """The connection's schema config: its tables as configured, plus any the source grew.

    Every known column is listed (with its settings), so a client reads one table's columns
    without a second call; system tables and primary-key columns say their ``enabled`` cannot
    change, in Fivetran's ``enabled_patch_settings`` shape.
    """
    conn = service.effective(cid)
    settings = service.schema_settings(cid)
    discovered = service.runtime[cid].get("discovered", {})
    set_tables: dict[str, Any] = settings.get("tables") or {}
    tables: dict[str, Any] = {}
    for name, cfg in conn.tables.items():
        known = conn.catalog_system.table(name)
        cols = discovered.get(name) or [
            [c.name, catalog.destination_name(c.name), False, c.name in known.primary_key]
            for c in known.columns
        ]
        tables[name] = _table_view(
            name, cfg.enabled, cols, set_tables.get(name, {}).get("columns") or {}, cfg.read_only
        )
    for name, cols in discovered.items():
        if name not in tables:
            entry = set_tables.get(name, {})
            enabled = entry.get("enabled", conn.schema_change_handling == "ALLOW_ALL")
            tables[name] = _table_view(name, bool(enabled), cols, entry.get("columns") or {})
    return {
        "enable_new_by_default": conn.schema_change_handling == "ALLOW_ALL",
        "schema_change_handling": conn.schema_change_handling,
        "schemas": {
            conn.catalog_system.schema: {
                "name_in_destination": conn.schema,
                "enabled": True,
                "tables": tables,
            }
        },
    }


def _patch_settings(allowed: bool, reason_code: str) -> dict[str, Any]:
    return {"allowed": True} if allowed else {"allowed": False, "reason_code": reason_code}


def _table_view(
    name: str,
    enabled: bool,
    cols: list[list[Any]],
    settings: dict[str, dict[str, Any]],
    read_only: bool = False,
) -> dict[str, Any]:
    """One table of a schema config.

    Args:
        name: the source table.
        enabled: whether it syncs.
        cols: [source, destination, hashed, primary key] per column the source has.
        settings: what a client set per column (``enabled``, ``hashed``).
        read_only: a system table, whose table-level settings cannot change.
    """
    return {
        "name_in_destination": catalog.destination_name(name),
        "enabled": enabled,
        "sync_mode": "SOFT_DELETE",
        "supports_columns_config": True,
        "enabled_patch_settings": _patch_settings(not read_only, "SYSTEM_TABLE"),
        "columns": {
            src: {
                "name_in_destination": dest,
                "enabled": bool(settings.get(src, {}).get("enabled", True)),
                "hashed": bool(settings.get(src, {}).get("hashed", hashed)),
                "is_primary_key": bool(pk),
                "enabled_patch_settings": _patch_settings(not pk, "SYSTEM_COLUMN"),
            }
            for src, dest, hashed, pk in cols
        },
    }
