"""What the replay records: syncs on the simulated clock, dbt invocations, strategy runs."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg


@dataclass(frozen=True)
class Sync:
    """One connector's sync at one tick, on the simulated clock (seconds from the day's start)."""

    connector_id: str
    schema: str
    start_s: float
    end_s: float
    events: tuple[dg.AssetMaterialization, ...]
    """What the platform reports for it: one materialization per changed table."""

    @property
    def changed(self) -> frozenset[dg.AssetKey]:
        """The landed tables this sync changed."""
        return frozenset(event.asset_key for event in self.events)


@dataclass(frozen=True)
class Run:
    """One dbt invocation of one strategy."""

    trigger_s: float
    start_s: float
    end_s: float
    built: frozenset[dg.AssetKey]
    builds: int
    """Model and snapshot nodes built."""
    warehouse_s: float
    model_s: float
    wall_s: float
    failed: int
    selection: str


@dataclass(frozen=True)
class Invocation:
    """What one ``dbt build`` did."""

    wall_s: float
    nodes: tuple[tuple[str, str, str, float], ...]
    """``(unique_id, resource_type, status, execution_time)`` per node."""
