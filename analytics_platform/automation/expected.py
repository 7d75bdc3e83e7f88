"""Expected syncs: when each connector table's next sync should land, by Fivetran's schedule.

The planner may leave a freshness asset waiting for a sync that its connector's schedule says
lands before the asset's deadline, so one build serves both (its decision then names that
sync). Fivetran's connector object says enough: ``sync_frequency`` (minutes), ``succeeded_at``,
``schedule_type`` (``auto`` or ``manual``) and ``paused``. Only scheduled, unpaused connectors
with a sync behind them have an expected next one.

The planner sensor reads the connectors once per tick (one list call per group: a handful of
calls per tick against Fivetran's ~20,000 an hour), and never fails a tick over it: without
the schedule it still builds by every deadline, it only cannot say what it waits for.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from dagster_fivetran.translator import FivetranMetadataSet


def _epoch(text: str) -> float:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def next_sync_at(connector: Mapping[str, Any], now: float) -> float | None:
    """When a connector's next scheduled sync should land (None: none is scheduled).

    The last success plus the sync frequency; a connector behind its schedule (a sync running
    long or skipped) is expected at the next slot after ``now``, never in the past.
    """
    if connector.get("paused") or connector.get("schedule_type", "auto") != "auto":
        return None
    frequency, succeeded = connector.get("sync_frequency"), connector.get("succeeded_at")
    if not frequency or not succeeded:
        return None
    period = float(frequency) * 60.0
    try:
        at = _epoch(str(succeeded)) + period
    except ValueError:
        return None
    if at <= now:
        at += math.ceil((now - at) / period + 1e-9) * period
    return at


def connector_tables(specs: Iterable[dg.AssetSpec]) -> dict[str, frozenset[dg.AssetKey]]:
    """Connector id -> the asset keys of the tables it lands (from the Fivetran specs)."""
    found: dict[str, set[dg.AssetKey]] = {}
    for spec in specs:
        connector_id = FivetranMetadataSet.extract(spec.metadata).connector_id
        if connector_id:
            found.setdefault(connector_id, set()).add(spec.key)
    return {cid: frozenset(keys) for cid, keys in found.items()}


def expected_syncs(
    connectors: Sequence[Mapping[str, Any]],
    tables: Mapping[str, frozenset[dg.AssetKey]],
    shared: frozenset[dg.AssetKey],
    now: float,
) -> dict[dg.AssetKey, float]:
    """Per connector table, when its next sync is expected to land.

    Args:
        connectors: connector objects from the Fivetran API.
        tables: connector id -> the tables it lands (:func:`connector_tables`).
        shared: tables every connector's sync writes (the Platform Connector's log and MAR
            tables, when the account has no Platform Connector of its own): the soonest of all.
        now: the current time (epoch seconds).
    """
    expected: dict[dg.AssetKey, float] = {}
    soonest: float | None = None
    for connector in connectors:
        at = next_sync_at(connector, now)
        if at is None:
            continue
        soonest = at if soonest is None else min(soonest, at)
        for key in tables.get(str(connector.get("id")), ()):
            expected[key] = min(at, expected.get(key, at))
    if soonest is not None:
        for key in shared:
            expected.setdefault(key, soonest)
    return expected


def fetch_connectors(client: Any) -> list[Mapping[str, Any]]:
    """Every connector object of the account: one list call per group."""
    return [
        connector
        for group in client.get_groups()["items"]
        for connector in client.list_connectors_for_group(group["id"])
    ]
