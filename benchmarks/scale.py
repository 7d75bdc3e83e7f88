"""What a sync costs the warehouse as the estate grows: 0.01, 0.1 and 1.0 of the design's volume.

The claim under test (issue 18): a sync's rebuild follows its change, not the size of the
tables. So the change sets are the same size at every scale (one typical 15-minute Jobs DB
sync of one tenant and one hourly GPS batch, both sized from the design's full volumes, see
:func:`jobs_change` and :func:`gps_batch_rows`), and only the tables grow.

`run(out_dir, scales)` measures dbt + warehouse work only, not syncing: the raw landing tables
(docs/CONTRACTS.md) are synthesized directly in DuckDB with SQL ``range()``, as
``benchmarks/incremental.py`` does, instead of generating the source estate and syncing it
through the local Fivetran (that path is ``fieldforce generate``/``up``; at scale 1.0 it takes
the better part of an hour). Per scale, in a fresh warehouse:

1. synthesize two tenants' Jobs DBs (jobs over 90 days of history and 14 days of bookings,
   line items, customers, technicians, service types), QuickBooks invoices and payments for
   the completed jobs, and two days of GPS events; the other sources stay empty. Rows carry
   the ``_fivetran_synced`` of the sync that last changed them, as in a warehouse kept for
   months (right after an initial sync the 3-day lookback holds every row);
2. ``first_build_s``: the first whole-project ``dbt build`` (seeds, models, snapshots);
3. a Jobs DB sync lands (new, updated and hard-deleted jobs, new line items, new customers,
   all with a newer ``_fivetran_synced``) and the platform's selection for it is built:
   :func:`benchmarks.scale.platform_rebuilds` of the landed connector tables, run with
   :func:`analytics_platform.transform.partitions.dbt_build_args` -> ``sync_rebuild_s``;
4. an hourly GPS batch lands (1 % late, 0.5 % redelivered) and its selection is built ->
   ``gps_rebuild_s``;
5. ``full_build_s``: the whole project rebuilt from scratch (``dbt build --full-refresh``).

The SQL of steps 1, 3 and 4 lives in :mod:`benchmarks.scale_data`. Seconds are warehouse
seconds: dbt's node execution times (``run_results.json``) summed, without dbt's start-up or
data tests (the same for both sides). ``peak_rss_gib`` is the largest resident set of this
process and of any dbt process it started (``getrusage``), the last scale's being the run's.

Run: ``uv run fieldforce bench scale [--scales 0.01 --scales 0.1 --scales 1.0]``.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standins.sources.config import volumes
from testkit.provenance import RESULTS_DIR, git_sha, machine

from analytics_platform.settings import DBT_PROJECT_DIR
from analytics_platform.transform.invocation import run_dbt
from benchmarks.scale_data import (
    GPS_TABLE,
    TENANTS,
    JobsChange,
    land_gps_batch,
    land_jobs_sync,
    largest_table,
    synthesize,
)

SCALES = (0.01, 0.1, 1.0)
SYNCS_PER_DAY = 24 * 4
"""The Jobs DB connectors sync every 15 minutes."""
UPDATES_PER_JOB = 3
"""A job's life after booking: dispatched, started, completed (or cancelled)."""
LINE_ITEMS_PER_JOB = 2.75
NO_TESTS = ("--exclude-resource-type", "test", "unit_test")
BUILT_PREFIXES = ("model.", "seed.", "snapshot.")
TARGET_RATIO = 0.05
TARGET_GROWTH = 2.0
TARGET_PEAK_GIB = 8.0
JOBS_TABLES = ("jobs", "job_line_items", "customers")


# -- pure parts (unit-tested) ---------------------------------------------------------------


def jobs_change(design_scale: float = 1.0) -> JobsChange:
    """The typical 15-minute change of one tenant's Jobs DB at ``design_scale``.

    Bookings arrive at the tenant's daily rate; each booked job is updated about three times
    in its life (so as many updates per sync as bookings, three times over); 0.2 % of jobs are
    hard-deleted, as in the change stream.
    """
    vol = volumes(design_scale, len(TENANTS))
    new = round(vol.jobs_per_day / SYNCS_PER_DAY)
    return JobsChange(
        new_jobs=new,
        updated_jobs=UPDATES_PER_JOB * new,
        deleted_jobs=max(1, round(new * 0.002)),
        new_line_items=round(new * LINE_ITEMS_PER_JOB),
        new_customers=max(1, round(new * vol.customers / vol.jobs)),
    )


def gps_batch_rows(design_scale: float = 1.0) -> int:
    """Events in one hourly GPS batch (every tenant's devices) at ``design_scale``."""
    return round(volumes(design_scale, len(TENANTS)).gps_events_per_day * len(TENANTS) / 24)


def node_seconds(run_results: Mapping[str, Any]) -> float:
    """Warehouse seconds of one dbt invocation: its models', seeds' and snapshots' times."""
    return sum(
        float(result.get("execution_time") or 0.0)
        for result in run_results.get("results", ())
        if str(result.get("unique_id", "")).startswith(BUILT_PREFIXES)
    )


def built_nodes(run_results: Mapping[str, Any]) -> list[str]:
    """Names of the nodes an invocation built successfully."""
    return sorted(
        str(result["unique_id"]).split(".")[-1]
        for result in run_results.get("results", ())
        if str(result.get("unique_id", "")).startswith(BUILT_PREFIXES)
        and result.get("status") == "success"
    )


def _at(scales: Sequence[float], values: Sequence[float | None], scale: float) -> float | None:
    for s, value in zip(scales, values, strict=True):
        if abs(s - scale) < 1e-12:
            return value
    return None


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 4)


def key_figures(
    scales: Sequence[float],
    sync_rebuild_s: Sequence[float],
    full_build_s: Sequence[float],
    peak_rss_gib: float,
) -> dict[str, Any]:
    """``ratio_at_1``, ``growth_0_1_to_1`` and whether each target is met.

    ``ratio_at_1`` = the sync's rebuild / the full build at scale 1.0; ``growth_0_1_to_1`` =
    the sync's rebuild at 1.0 / at 0.1 (the same change at both). Either is None when a scale
    it needs was not run.
    """
    at_1 = _at(scales, sync_rebuild_s, 1.0)
    ratio = _ratio(at_1, _at(scales, full_build_s, 1.0))
    growth = _ratio(at_1, _at(scales, sync_rebuild_s, 0.1))
    return {
        "ratio_at_1": ratio,
        "growth_0_1_to_1": growth,
        "targets": {
            "ratio_at_1": None if ratio is None else ratio <= TARGET_RATIO,
            "growth_0_1_to_1": None if growth is None else growth <= TARGET_GROWTH,
            "peak_rss_gib": peak_rss_gib <= TARGET_PEAK_GIB,
        },
    }


def selection(
    rebuilds: Mapping[Any, Iterable[Any]], landed: Iterable[Any], names: Mapping[Any, str]
) -> list[str]:
    """The dbt node names a run for the ``landed`` connector tables builds (sorted)."""
    return sorted({names[key] for table in landed for key in rebuilds.get(table, ())})


def peak_rss_split() -> dict[str, float]:
    """The largest resident set so far (GiB), of this process and of its largest child.

    This process synthesizes (its DuckDB capped at 4 GB); the children are the dbt runs,
    each with its DuckDB.
    """
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss is in KiB on Linux
    return {"self": round(own / 2**20, 3), "dbt": round(children / 2**20, 3)}


def peak_rss_gib() -> float:
    """The largest resident set so far of this process or any child it waited for (GiB)."""
    return max(peak_rss_split().values())


# -- the platform's selection ---------------------------------------------------------------


def platform_rebuilds() -> tuple[dict[Any, frozenset[Any]], dict[Any, str]]:
    """What a sync of each connector table makes stale, and each dbt asset's node name.

    Read off the code location's dbt specs through the planner's own graph (the planned tables
    that read the connector table, through views; cron reports excluded: their cron builds
    them), so the benchmark builds exactly what the planner rebuilds for a sync.
    """
    from analytics_platform.automation.planner_sensor import planner_graph
    from analytics_platform.automation.policy import Cron
    from analytics_platform.transform import assets

    specs = list(assets.dbt_fieldforce.specs)
    graph = planner_graph(specs)
    rebuilds = {
        connector: frozenset(
            key
            for key, sources in graph.sources.items()
            if connector in sources and not isinstance(graph.policies[key], Cron)
        )
        for connector in graph.connectors
    }
    return rebuilds, {spec.key: spec.key.path[-1] for spec in specs}


@dataclass
class Dbt:
    """dbt against one warehouse, each invocation's run results kept."""

    work: Path
    warehouse: Path
    invocations: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, args: Sequence[str]) -> dict[str, Any]:
        """Run ``dbt <args>`` (tests excluded); its run results with ``wall_s`` added."""
        env = {
            **os.environ,
            "FIELDFORCE_WAREHOUSE_PATH": str(self.warehouse),
            "DBT_TARGET": "local",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        command, *rest = args
        target = self.work / "target"
        started = time.perf_counter()
        run_dbt(
            command,
            env=env,
            project_dir=DBT_PROJECT_DIR,
            target_path=target,
            log_path=self.work / "logs",
            extra=[*rest, *NO_TESTS],
        )
        results: dict[str, Any] = json.loads((target / "run_results.json").read_text())
        results["wall_s"] = time.perf_counter() - started
        self.invocations.append(results)
        return results


def measure(scale: float, work: Path) -> dict[str, Any]:
    """Everything measured at one scale (see the module docstring)."""
    from analytics_platform.transform.partitions import dbt_build_args

    rebuilds, names = platform_rebuilds()
    warehouse = work / "warehouse.duckdb"
    dbt = Dbt(work, warehouse)
    started = time.perf_counter()
    raw_rows = synthesize(warehouse, scale)
    synthesize_s = time.perf_counter() - started
    print(f"  scale {scale}: synthesized in {synthesize_s:.0f} s; first build ...", flush=True)
    first = dbt(["build"])
    change = jobs_change()
    landed = land_jobs_sync(warehouse, change)
    jobs_keys = [_key("fivetran", f"fivetran_postgres_{TENANTS[0]}", t) for t in JOBS_TABLES]
    jobs_selection = selection(rebuilds, jobs_keys, names)
    print(f"  scale {scale}: Jobs DB sync rebuild ({len(jobs_selection)} models) ...", flush=True)
    jobs_run = dbt(dbt_build_args(select=" ".join(jobs_selection)))
    gps_rows = gps_batch_rows()
    landed |= land_gps_batch(warehouse, gps_rows)
    gps_selection = selection(rebuilds, [_key("fivetran", *GPS_TABLE)], names)
    print(f"  scale {scale}: GPS batch rebuild ({len(gps_selection)} models) ...", flush=True)
    gps_run = dbt(dbt_build_args(select=" ".join(gps_selection)))
    print(f"  scale {scale}: full build ...", flush=True)
    full = dbt(dbt_build_args(full_refresh=True))
    table, table_rows = largest_table(warehouse)
    disk = sum(p.stat().st_size for p in work.rglob("*") if p.is_file())
    return {
        "scale": scale,
        "raw_rows": raw_rows,
        "synthesize_s": round(synthesize_s, 2),
        "first_build_s": round(node_seconds(first), 3),
        "first_build_wall_s": round(first["wall_s"], 2),
        "sync_rebuild_s": round(node_seconds(jobs_run), 3),
        "sync_rebuild_wall_s": round(jobs_run["wall_s"], 2),
        "sync_rebuild_models": built_nodes(jobs_run),
        "gps_rebuild_s": round(node_seconds(gps_run), 3),
        "gps_rebuild_wall_s": round(gps_run["wall_s"], 2),
        "gps_rebuild_models": built_nodes(gps_run),
        "full_build_s": round(node_seconds(full), 3),
        "full_build_wall_s": round(full["wall_s"], 2),
        "changed_rows": landed,
        "largest_table": table,
        "largest_table_rows": table_rows,
        "disk_gib": round(disk / 2**30, 2),
        "peak_rss_gib": peak_rss_gib(),
        "peak_rss_by_process_gib": peak_rss_split(),
        "node_seconds": {
            label: {
                str(r["unique_id"]).split(".")[-1]: round(float(r["execution_time"] or 0), 3)
                for r in results["results"]
                if str(r["unique_id"]).startswith(BUILT_PREFIXES)
            }
            for label, results in (("sync", jobs_run), ("gps", gps_run), ("full", full))
        },
    }


def _key(*path: str) -> Any:
    import dagster as dg

    return dg.AssetKey(list(path))


def run(
    out_dir: Path | str = RESULTS_DIR,
    scale: float = 1.0,
    scales: tuple[float, ...] = SCALES,
    keep: bool = False,
) -> dict[str, Any]:
    """Measure a sync's rebuild and a full build at each of ``scales``; the figures.

    Args:
        out_dir: where the CLI writes ``scale.json``.
        scale: the largest scale (``--scale``): ``scales`` above it are left out.
        scales: the scales to measure, in increasing order.
        keep: keep each scale's warehouse directory (under /tmp) for inspection.
    """
    from analytics_platform.transform.project import prepare_manifest

    chosen = sorted(s for s in scales if s <= scale + 1e-12)
    if not chosen:
        raise ValueError(f"no scale of {scales} is at or below --scale {scale}")
    prepare_manifest()  # the platform's selection is read off the code location's dbt specs
    points = []
    failed: dict[str, str] = {}
    for s in chosen:
        work = Path(tempfile.mkdtemp(prefix=f"bench-scale-{s}-", dir="/tmp"))
        try:
            free = shutil.disk_usage(work).free / 2**30
            # ~10 GiB per unit of scale: the raw tables, the models, and dbt's temporaries.
            if free < 12 * s + 1:
                raise RuntimeError(
                    f"bench scale {s}: {free:.1f} GiB free under {work.parent}, "
                    f"~{12 * s + 1:.0f} GiB needed"
                )
            points.append(measure(s, work))
        except Exception as exc:  # the smaller scales' figures still count
            failed[str(s)] = f"{type(exc).__name__}: {exc}"[:2000]
            print(f"  scale {s}: FAILED: {failed[str(s)][:500]}", flush=True)
            continue
        finally:
            if not keep:
                shutil.rmtree(work, ignore_errors=True)
        p = points[-1]
        print(
            f"  scale {s}: sync rebuild {p['sync_rebuild_s']} s, GPS {p['gps_rebuild_s']} s, "
            f"full build {p['full_build_s']} s, peak {p['peak_rss_gib']} GiB",
            flush=True,
        )
    if not points:
        raise RuntimeError(f"bench scale failed at every scale: {failed}")
    chosen = [p["scale"] for p in points]
    peak = max(p["peak_rss_gib"] for p in points)
    sync = [p["sync_rebuild_s"] for p in points]
    full = [p["full_build_s"] for p in points]
    gps = [p["gps_rebuild_s"] for p in points]
    figures = key_figures(chosen, sync, full, peak)
    gps_figures = key_figures(chosen, gps, full, peak)
    change = jobs_change()
    result: dict[str, Any] = {
        "scales": chosen,
        "sync_rebuild_s": sync,
        "full_build_s": full,
        "gps_rebuild_s": gps,
        "first_build_s": [p["first_build_s"] for p in points],
        "changed_rows": {
            "jobs_sync": change.rows,
            "jobs_sync_detail": change.__dict__,
            "gps_batch": gps_batch_rows(),
        },
        "largest_table_rows": [p["largest_table_rows"] for p in points],
        "largest_table": [p["largest_table"] for p in points],
        "ratio_at_1": figures["ratio_at_1"],
        "growth_0_1_to_1": figures["growth_0_1_to_1"],
        "gps_ratio_at_1": gps_figures["ratio_at_1"],
        "gps_growth_0_1_to_1": gps_figures["growth_0_1_to_1"],
        "peak_rss_gib": peak,
        "targets": figures["targets"],
        "points": points,
        "failed_scales": failed,
        "method": "raw tables synthesized in DuckDB (benchmarks/incremental.py's way), not the"
        " source estate + local Fivetran; the same change sets at every scale; warehouse"
        " seconds = sum of dbt node times, tests excluded; DBT_TARGET=local (DuckDB)",
        "scale": max(chosen),
        "machine": machine(),
        "git_sha": git_sha(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for key in ("scales", "sync_rebuild_s", "gps_rebuild_s", "full_build_s", "first_build_s"):
        print(f"{key:<18}  {result[key]}")
    for key in ("ratio_at_1", "growth_0_1_to_1", "gps_ratio_at_1", "peak_rss_gib", "targets"):
        print(f"{key:<18}  {result[key]}")
    return result
