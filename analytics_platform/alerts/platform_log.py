"""What Fivetran reports in its Platform Connector log (``fivetran_metadata.log``), read in order.

Fivetran writes one row per log event: ``message_event`` names it (``sync_end``,
``alter_table``, ``create_table``, ``drop_table`` …), ``event`` is its level and
``message_data`` its JSON. Two alert rows read it: the sync-failure row counts consecutive
failed ``sync_end`` events (the sync history, however fast the syncs came), and the schema-drift
row classifies schema changes.

Rows land in batches (the Platform Connector's own syncs, or the sync that wrote them), and a
batch can commit after a later one started, so "rows after the newest ``_fivetran_synced``
seen" would miss some. A :class:`LogPosition` therefore re-reads a margin before its newest
landing time and skips the row ids it has already seen: every row is returned exactly once,
across ticks and across restarts of the daemon (the position lives in the sensor cursor).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from analytics_platform.ingest.changes import Dialect, quote
from analytics_platform.ingest.checks import parse_time
from analytics_platform.ingest.observe import PLATFORM_SCHEMA

LANDING_MARGIN = timedelta(hours=1)
"""How far before the newest landed row a read looks again: longer than a sync's transaction."""

SYNC_END = "sync_end"
FAILED_STATUSES = frozenset({"FAILURE", "FAILURE_WITH_TASK"})
SUCCEEDED_STATUSES = frozenset({"SUCCESSFUL"})


@dataclass(frozen=True)
class LogEvent:
    """One row of ``fivetran_metadata.log``.

    Attributes:
        id: The row's id (unique per event).
        connection_id: The connector that reported it.
        at: When it happened (``time_stamp``), UTC.
        landed: When it reached the warehouse (``_fivetran_synced``), UTC.
        level: ``INFO``, ``WARNING``, ``SEVERE`` (the ``event`` column).
        name: The event (``message_event``).
        data: ``message_data`` parsed (an empty mapping when it is not a JSON object).
    """

    id: str
    connection_id: str
    at: datetime
    landed: datetime
    level: str
    name: str
    data: Mapping[str, Any] = field(default_factory=dict)


def parse_data(raw: Any) -> dict[str, Any]:
    """``message_data`` as a mapping: a JSON text (DuckDB, Snowflake VARCHAR) or a VARIANT."""
    if isinstance(raw, Mapping):
        return dict(raw)
    if not raw:
        return {}
    try:
        parsed = json.loads(str(raw))
    except ValueError:
        return {"message": str(raw)}
    return parsed if isinstance(parsed, dict) else {"message": parsed}


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError(f"a log row without a time: {value!r}")
    return parsed


def log_query(names: Sequence[str], since: datetime | None, dialect: Dialect) -> str:
    """The query reading the events called ``names`` that landed after ``since`` (pure)."""

    def col(name: str) -> str:
        return quote(name, dialect)

    relation = f"{quote(PLATFORM_SCHEMA, dialect)}.{quote('log', dialect)}"
    wanted = ", ".join("'" + name.replace("'", "''") + "'" for name in sorted(set(names)))
    where = f"{col('message_event')} in ({wanted})"
    if since is not None:
        literal = since.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        where += f" and {col('_fivetran_synced')} > cast('{literal}' as timestamp)"
    columns = ", ".join(
        col(name)
        for name in (
            "id",
            "connection_id",
            "time_stamp",
            "_fivetran_synced",
            "event",
            "message_event",
            "message_data",
        )
    )
    return (
        f"select {columns} from {relation} where {where} order by {col('time_stamp')}, {col('id')}"
    )


def _missing(message: str) -> bool:
    lowered = message.lower()
    return "does not exist" in lowered or "not found" in lowered


def read_log(
    connection: Any, names: Sequence[str], since: datetime | None, dialect: Dialect
) -> list[LogEvent]:
    """The events called ``names`` landed after ``since``, oldest first.

    A warehouse without ``fivetran_metadata.log`` yet (nothing synced) has no events.
    """
    cursor = connection.cursor()
    try:
        try:
            cursor.execute(log_query(names, since, dialect))
        except Exception as exc:
            if _missing(str(exc)):
                return []
            raise
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return [
        LogEvent(
            id=str(row[0]),
            connection_id=str(row[1]),
            at=_utc(row[2]),
            landed=_utc(row[3]),
            level=str(row[4] or ""),
            name=str(row[5]),
            data=parse_data(row[6]),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class LogPosition:
    """How far the log has been read: the newest landing time and the ids seen near it."""

    landed: datetime | None = None
    seen: Mapping[str, str] = field(default_factory=dict)
    """``id -> landed (ISO)`` of the rows within :data:`LANDING_MARGIN` of ``landed``."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> LogPosition | None:
        """The position kept in a cursor (None: never read)."""
        if not data:
            return None
        return cls(parse_time(data.get("landed")), dict(data.get("seen") or {}))

    def to_json(self) -> dict[str, Any]:
        """The position as kept in a cursor."""
        return {
            "landed": self.landed.isoformat() if self.landed else None,
            "seen": dict(self.seen),
        }

    def since(self) -> datetime | None:
        """Where the next read starts: a margin before the newest landed row."""
        return self.landed - LANDING_MARGIN if self.landed else None

    def advance(self, events: Iterable[LogEvent]) -> tuple[list[LogEvent], LogPosition]:
        """The events not seen before, in log order, and the position after them."""
        fresh = [event for event in events if event.id not in self.seen]
        newest = max([event.landed for event in fresh], default=self.landed)
        if self.landed is not None and newest is not None:
            newest = max(newest, self.landed)
        seen = {**self.seen, **{event.id: event.landed.isoformat() for event in fresh}}
        if newest is not None:
            horizon = newest - LANDING_MARGIN
            seen = {
                key: stamp
                for key, stamp in seen.items()
                if (parse_time(stamp) or horizon) >= horizon
            }
        return fresh, LogPosition(newest, seen)


def read_new(
    connection: Any,
    names: Sequence[str],
    position: LogPosition,
    dialect: Dialect,
) -> tuple[list[LogEvent], LogPosition]:
    """The events called ``names`` that ``position`` has not returned yet, and the new position."""
    return position.advance(read_log(connection, names, position.since(), dialect))


def sync_outcome(event: LogEvent) -> bool | None:
    """True for a successful ``sync_end``, False for a failed one, None for anything else."""
    if event.name != SYNC_END:
        return None
    status = str(event.data.get("status") or "").upper()
    if status in SUCCEEDED_STATUSES:
        return True
    if status in FAILED_STATUSES:
        return False
    return None
