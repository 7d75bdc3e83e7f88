"""The figures of one strategy over the day: latency, windows met, freshness per mart and tick.

A sync is reflected in a table once the table's data time holds it (``benchmarks.day.lineage``).
Latency is per (sync, eager asset) pair: from the sync's end to that reflection. ``windows_met``
is the share of (sync, downstream eager or freshness asset) pairs reflected within the asset's
warn window; ``freshness_met`` is Dagster's view: the share of (asset with a freshness policy,
check time) pairs where no change older than its fail window was still unreflected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import numpy as np

from analytics_platform.automation.policy import Eager
from benchmarks.day.lineage import DataTimes, Lineage, replay_data_times
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


def windows_met(
    pairs: Sequence[tuple[float, float | None, float]], horizon_s: float
) -> float | None:
    """Share of ``(landed, reflected_at, window)`` pairs reflected within their window.

    A pair never reflected is missed once its deadline (``landed + window``) is past the
    horizon; before that it is undecided and left out. None when no pair is decided.
    """
    met = decided = 0
    for landed, reflected, window in pairs:
        if reflected is None and horizon_s < landed + window:
            continue
        decided += 1
        met += reflected is not None and reflected - landed <= window
    return met / decided if decided else None


def reflections(
    syncs: Sequence[Sync], lineage: Lineage, times: DataTimes
) -> dict[tuple[int, dg.AssetKey], float | None]:
    """Per (sync, table downstream of what it changed): when the table first reflected it."""
    found: dict[tuple[int, dg.AssetKey], float | None] = {}
    for index, sync in enumerate(syncs):
        for key in lineage.downstream(sync.changed):
            found[index, key] = times.reflected_at(key, sync.changed, sync.end_s)
    return found


def summarize(
    name: str,
    runs: Sequence[Run],
    syncs: Sequence[Sync],
    lineage: Lineage,
    checks: Sequence[float],
    end_s: float,
) -> dict[str, Any]:
    """The figures of one strategy over the day (the figures ``benchmarks.day`` lists).

    Reflection is data time (``benchmarks.day.lineage``): a table reflects a sync once a build
    read it along every path, so a mart rebuilt over a stale intermediate has not.
    """
    times = replay_data_times(
        lineage,
        [(sync.end_s, sync.changed) for sync in syncs],
        [(run.start_s, run.end_s, run.built) for run in runs],
    )
    found = reflections(syncs, lineage, times)
    latencies: list[float] = []
    pairs: list[tuple[float, float | None, float]] = []
    changes_of: dict[dg.AssetKey, list[tuple[float, float | None]]] = {}
    for (index, key), reflected in found.items():
        landed = syncs[index].end_s
        changes_of.setdefault(key, []).append((landed, reflected))
        if key in lineage.warn_s:
            pairs.append((landed, reflected, lineage.warn_s[key]))
        if isinstance(lineage.policies.get(key), Eager):
            latencies.append((end_s if reflected is None else reflected) - landed)
    met = sum(
        freshness_met(checks, window, changes_of.get(key, []))
        for key, window in lineage.fail_s.items()
    )
    total = len(checks) * len(lineage.fail_s)
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    share = windows_met(pairs, end_s)
    return {
        f"{name}_builds": sum(run.builds for run in runs),
        f"{name}_runs": len(runs),
        f"{name}_warehouse_s": round(sum(run.warehouse_s for run in runs), 2),
        f"{name}_latency_p50_s": round(p50, 2) if p50 is not None else None,
        f"{name}_latency_p95_s": round(p95, 2) if p95 is not None else None,
        f"{name}_freshness_met": round(met / total, 4) if total else None,
        f"{name}_windows_met": round(share, 4) if share is not None else None,
        f"{name}_window_pairs": len(pairs),
        f"{name}_model_s": round(sum(run.model_s for run in runs), 2),
        f"{name}_dbt_wall_s": round(sum(run.wall_s for run in runs), 2),
        f"{name}_latency_max_s": round(max(latencies), 2) if latencies else None,
        f"{name}_failed_nodes": sum(run.failed for run in runs),
        f"{name}_unreflected": sum(reflected is None for reflected in found.values()),
    }


def timeline(
    marts: Sequence[dg.AssetKey],
    syncs: Sequence[Sync],
    lineage: Lineage,
    runs_of: Mapping[str, Sequence[Run]],
) -> dict[str, Any]:
    """For the plot: per mart, the syncs reaching it and what each strategy did with them.

    Per strategy: its builds' ends, and when each of those syncs was reflected (None: never).
    """
    result: dict[str, Any] = {}
    landed = [(sync.end_s, sync.changed) for sync in syncs]
    times_of = {
        name: replay_data_times(
            lineage, landed, [(run.start_s, run.end_s, run.built) for run in runs]
        )
        for name, runs in runs_of.items()
    }
    for mart in marts:
        sources = lineage.sources.get(mart, frozenset())
        reaching = [sync for sync in syncs if sync.changed & sources]
        entry: dict[str, Any] = {
            "syncs": [round(sync.end_s, 1) for sync in reaching],
            "warn_s": lineage.warn_s.get(mart),
        }
        for name, times in times_of.items():
            reflected = [times.reflected_at(mart, s.changed, s.end_s) for s in reaching]
            entry[name] = {
                "builds": [round(end, 1) for end, _ in times.history.get(mart, [])],
                "reflected": [None if r is None else round(r, 1) for r in reflected],
            }
        result[mart.path[-1]] = entry
    return result
