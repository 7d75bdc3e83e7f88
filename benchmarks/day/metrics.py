"""The figures of one strategy over the day: latency per sync, freshness per mart and tick.

A sync is reflected in a mart by the first build of it that started after the sync ended (it
read the sync's data). A sync's latency is the time to its last affected mart's reflection; a
mart meets its freshness at a check when no change older than its fail window is unreflected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import numpy as np

from benchmarks.day.records import Run, Sync


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in [0, 1]); None for no values."""
    if not values:
        return None
    return float(np.quantile(values, q, method="linear"))


def first_reflection(sync_end: float, builds: Sequence[tuple[float, float]]) -> float | None:
    """End of the first build that started after the sync ended (it read the sync's data)."""
    ends = [end for start, end in builds if start >= sync_end]
    return min(ends) if ends else None


def freshness_met(
    checks: Sequence[float], window_s: float, changes: Sequence[tuple[float, float | None]]
) -> int:
    """How many checks find the mart within its window.

    Args:
        checks: check times.
        window_s: the fail window.
        changes: ``(sync_end, reflected_at)`` for every sync that changed something the mart
            reads; ``reflected_at`` None when no build ever reflected it.

    A check at ``t`` fails when a change that ended more than ``window_s`` before ``t`` was not
    yet reflected at ``t``: the mart was then older than its SLA allows.
    """
    met = 0
    for t in checks:
        late = any(
            end <= t - window_s and (reflected is None or reflected > t)
            for end, reflected in changes
        )
        met += not late
    return met


def summarize(
    name: str,
    runs: Sequence[Run],
    syncs: Sequence[Sync],
    affected: Mapping[int, set[dg.AssetKey]],
    windows: Mapping[dg.AssetKey, float],
    checks: Sequence[float],
    end_s: float,
) -> dict[str, Any]:
    """The figures of one strategy over the day (the figures ``benchmarks.day`` lists)."""
    builds_of: dict[dg.AssetKey, list[tuple[float, float]]] = {}
    for run in runs:
        for key in run.built:
            builds_of.setdefault(key, []).append((run.start_s, run.end_s))
    latencies: list[float] = []
    unreflected = 0
    changes_of: dict[dg.AssetKey, list[tuple[float, float | None]]] = {}
    for index, sync in enumerate(syncs):
        marts = affected.get(index, set())
        if not marts:
            continue
        worst = 0.0
        for mart in marts:
            reflected = first_reflection(sync.end_s, builds_of.get(mart, []))
            changes_of.setdefault(mart, []).append((sync.end_s, reflected))
            if reflected is None:
                unreflected += 1
                reflected = end_s
            worst = max(worst, reflected - sync.end_s)
        latencies.append(worst)
    met = sum(
        freshness_met(checks, window, changes_of.get(mart, [])) for mart, window in windows.items()
    )
    total = len(checks) * len(windows)
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    return {
        f"{name}_builds": sum(run.builds for run in runs),
        f"{name}_warehouse_s": round(sum(run.warehouse_s for run in runs), 2),
        f"{name}_latency_p50_s": round(p50, 2) if p50 is not None else None,
        f"{name}_latency_p95_s": round(p95, 2) if p95 is not None else None,
        f"{name}_freshness_met": round(met / total, 4) if total else None,
        f"{name}_runs": len(runs),
        f"{name}_model_s": round(sum(run.model_s for run in runs), 2),
        f"{name}_dbt_wall_s": round(sum(run.wall_s for run in runs), 2),
        f"{name}_latency_max_s": round(max(latencies), 2) if latencies else None,
        f"{name}_failed_nodes": sum(run.failed for run in runs),
        f"{name}_unreflected": unreflected,
    }
