"""``raw_freshness``: how late a landed table is against its connector's own schedule.

The schedule is the connector's ``sync_frequency`` in the Fivetran API. The table counts as
current as of its latest reported sync or the connector's latest successful sync, whichever
is newer: a sync that changes nothing reports no materialization (``ingest/changes.py``), yet
leaves the table up to date, so a quiet dimension must not look stale. More than 30 min late
warns, more than 60 min errors: the design's source freshness (docs/ARCHITECTURE.md).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from analytics_platform.ingest.checks.tables import RAW_FRESHNESS_CHECK, CheckOutcome, RawTable

FRESHNESS_WARN_MINUTES = 30.0
FRESHNESS_ERROR_MINUTES = 60.0


def parse_time(value: Any) -> datetime | None:
    """A Fivetran API timestamp (``2026-03-02T10:00:00.123Z``) as an aware datetime."""
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Schedule:
    """What the Fivetran API says about a connector's schedule and its latest syncs."""

    frequency_minutes: float
    last_success: datetime | None
    created_at: datetime | None
    paused: bool
    connected: bool
    sync_state: str | None = None


def connector_schedule(details: Mapping[str, Any]) -> Schedule | None:
    """The schedule in a ``GET /v1/connectors/{id}`` object (None: it has no frequency)."""
    frequency = details.get("sync_frequency")
    if frequency is None:
        return None
    status = details.get("status") or {}
    return Schedule(
        frequency_minutes=float(frequency),
        last_success=parse_time(details.get("succeeded_at")),
        created_at=parse_time(details.get("created_at")),
        paused=bool(details.get("paused")),
        connected=status.get("setup_state", "connected") == "connected",
        sync_state=status.get("sync_state"),
    )


def minutes_late(last_update: datetime, frequency_minutes: float, now: datetime) -> float:
    """Minutes past the moment the next sync was due (negative: it is not due yet)."""
    return (now - last_update).total_seconds() / 60 - frequency_minutes


def freshness_outcome(
    table: RawTable, schedule: Schedule, last_reported: datetime | None, now: datetime
) -> CheckOutcome | None:
    """The ``raw_freshness`` outcome of ``table`` at ``now`` (None: nothing to judge).

    A paused connector passes: pausing is the design's deliberate step while a breaking schema
    change is handled, and Fivetran itself shows it as paused, not delayed.
    """
    if not schedule.connected:
        return None
    candidates = [moment for moment in (schedule.last_success, last_reported) if moment]
    last_update = max(candidates) if candidates else schedule.created_at
    if last_update is None:
        return None
    late = minutes_late(last_update, schedule.frequency_minutes, now)
    metadata: dict[str, Any] = {
        "minutes_late": round(late, 1),
        "sync_frequency_minutes": schedule.frequency_minutes,
        "current_as_of": last_update.isoformat(),
        "connector_id": table.connector_id,
        "connector_paused": schedule.paused,
    }
    if schedule.paused:
        return CheckOutcome(
            table.key, RAW_FRESHNESS_CHECK, True, description="Connector paused.", metadata=metadata
        )
    if late > FRESHNESS_ERROR_MINUTES:
        severity, passed = dg.AssetCheckSeverity.ERROR, False
    elif late > FRESHNESS_WARN_MINUTES:
        severity, passed = dg.AssetCheckSeverity.WARN, False
    else:
        severity, passed = dg.AssetCheckSeverity.WARN, True
    description = (
        f"{max(late, 0.0):.0f} min late against a {schedule.frequency_minutes:.0f}-min schedule"
        f" (current as of {last_update:%Y-%m-%d %H:%M} UTC)."
    )
    return CheckOutcome(table.key, RAW_FRESHNESS_CHECK, passed, severity, description, metadata)
