"""Sync-to-mart latency under the real daemon, webhook path and polling path.

For each path a whole local platform is started (``LocalPlatform``: sources, local Fivetran,
Dagster webserver + daemon on ``dagster.yaml``, and the webhook receiver or the polling sensor),
the first build is let to finish, every connector is switched to manual, and then ``syncs``
times: one job changes in a Jobs DB tenant (alternating), its connector is forced, and the
latency is measured from the sync's end (Fivetran's ``finished_at``) to the materialization of
the last ``eager`` mart downstream of the tables the sync changed (``fct_jobs``, the live job
board: the marts whose policy is "as soon as new data lands"; a ``freshness`` mart waits for its
deadline on purpose, and ``bench day`` measures those windows). The next sync starts once the
platform is quiet again, so each measurement is of one sync alone.

Keys: ``syncs``, ``webhook_p50_s``, ``webhook_p95_s``, ``polling_p50_s``, ``polling_p95_s``
(and per path ``*_max_s``, ``*_run_s``: the dbt run's own duration, p50).
The targets: webhook p50 ≤ 15 s and p95 ≤ 20 s, polling p50 ≤ 20 s (the design's SLA for
the critical dashboards is sub-10-minute; these are the overhead issue's).

Run: ``uv run fieldforce bench latency [--syncs N] [--modes webhook] [--modes polling]``. One
path at a time gives each path the whole machine; a run of one path keeps the other path's
figures in ``latency.json`` when they were measured with the same syncs and scale.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import dagster as dg
import numpy as np
import psycopg
from devstack.launcher import LocalPlatform
from devstack.ports import free_port
from standins.sources import catalog
from testkit.harness import RunningPlatform, load_specs, rebuilt_by
from testkit.provenance import git_sha

from analytics_platform.automation.policy import Eager, policy_of
from benchmarks.memory import MemorySampler
from benchmarks.up import clean_reused

TENANTS = ("bu_north", "bu_south")
POLL_INTERVAL_S = 10


def _percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (``q`` in [0, 1]), to the hundredth; NaN for no values."""
    if not values:
        return float("nan")
    return round(float(np.quantile(values, q, method="linear")), 2)


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _marts(specs: dict[dg.AssetKey, dg.AssetSpec], keys: set[dg.AssetKey]) -> set[dg.AssetKey]:
    """The eager marts among ``keys``: those whose latency is the platform's promise."""
    return {
        key for key in keys if key.path[0] == "marts" and isinstance(policy_of(specs[key]), Eager)
    }


def measure(
    mode: str, syncs: int, scale: float, progress: bool = True, home: Path | None = None
) -> dict[str, Any]:
    """Latencies of ``syncs`` single-connector syncs through one observation path.

    ``home``: a platform directory whose estate (same scale, same tenants) is reused and kept,
    as ``bench up --home`` does; at scale 1.0 that saves generating the estate again.
    """
    temporary = home is None
    if home is None:
        home = Path(tempfile.mkdtemp(prefix=f"latency-{mode}-", dir="/tmp"))
    else:
        home = home.resolve()
        home.mkdir(parents=True, exist_ok=True)
        clean_reused(home)
    home.chmod(0o711)
    platform = LocalPlatform(
        home=home,
        scale=scale,
        tenants=len(TENANTS),
        speed=1.0,
        dagster_port=free_port(),
        with_change_stream=False,
        fivetran_mode=mode,
        poll_interval_s=POLL_INTERVAL_S,
    )
    latencies: list[float] = []
    run_seconds: list[float] = []
    runs_per_sync: list[int] = []
    with MemorySampler(marker=str(home)) as sampler:
        try:
            began = time.monotonic()
            platform.start()
            running = RunningPlatform(platform)
            running.wait_first_build()
            ready_s = round(time.monotonic() - began, 1)
            running.manual_schedules()
            specs = load_specs(running.env())
            for i in range(syncs):
                tenant = TENANTS[i % len(TENANTS)]
                job_id = catalog.ID_OFFSET * (TENANTS.index(tenant) + 1) + 1 + i
                with psycopg.connect(
                    platform.info["sources"]["jobs_db_dsns"][tenant], autocommit=True
                ) as conn:
                    conn.execute(
                        "update public.jobs set priority = %s, updated_at = now() where job_id = %s",
                        (("low", "high")[i % 2], job_id),
                    )
                started = time.time()
                [entry] = running.sync(f"postgres_jobs_{tenant}")
                sync_end = _epoch(entry["finished_at"])
                changed = dg.AssetKey(["fivetran", f"fivetran_postgres_{tenant}", "jobs"])
                expected = _marts(specs, rebuilt_by(specs, {changed}))
                assert expected, f"no eager mart downstream of {changed.to_user_string()}"
                instance = running.instance()

                def newest(
                    key: dg.AssetKey, since: float = started, instance: Any = instance
                ) -> float | None:
                    event = instance.get_latest_materialization_event(key)
                    return event.timestamp if event and event.timestamp >= since else None

                running.wait_for(
                    lambda: all(newest(key) for key in expected),  # noqa: B023 - evaluated at once
                    timeout_s=600,
                    what=f"marts downstream of {changed.to_user_string()}",
                )
                done = max(newest(key) or 0.0 for key in expected)
                latencies.append(round(done - sync_end, 2))
                if progress:
                    print(f"  {mode} sync {i + 1}/{syncs}: {latencies[-1]:.1f} s")
                running.wait_quiet(quiet_s=12, timeout_s=600)
                # counted once quiet: the mart is materialized before its run ends (its tests
                # and the row-count observation come after), so a run counted at that moment
                # is still STARTED, and every sync counted none
                runs = [r for r in running.runs_since(started) if r.status.value == "SUCCESS"]
                runs_per_sync.append(len(runs))
                for run in runs:
                    record = instance.get_run_record_by_id(run.run_id)
                    if record and record.start_time and record.end_time:
                        run_seconds.append(record.end_time - record.start_time)
        finally:
            platform.stop()
            if temporary:
                shutil.rmtree(home, ignore_errors=True)
    memory = sampler.report()
    return {
        f"{mode}_p50_s": _percentile(latencies, 0.5),
        f"{mode}_p95_s": _percentile(latencies, 0.95),
        f"{mode}_max_s": max(latencies) if latencies else None,
        f"{mode}_run_s": round(statistics.median(run_seconds), 2) if run_seconds else None,
        f"{mode}_latencies_s": latencies,
        f"{mode}_runs_per_sync_p50": statistics.median(runs_per_sync) if runs_per_sync else None,
        # Start, first syncs and first build, and the peak resident set of each process (the
        # figures that matter at scale 1.0).
        f"{mode}_ready_s": ready_s,
        f"{mode}_peak_rss_gib": memory["peak_rss_gib"],
        f"{mode}_peak_rss_by_role_gib": memory["peak_rss_by_role_gib"],
    }


Mode = Literal["webhook", "polling"]
MODES: tuple[Mode, ...] = ("webhook", "polling")


def _other_paths(
    out_dir: Path, syncs: int, scale: float, modes: tuple[Mode, ...]
) -> dict[str, Any]:
    """The figures of the paths not measured now, from ``out_dir/latency.json``.

    One path at a time (two stacks never share the two cores): the other path's figures are
    kept when they were measured with the same syncs and scale.
    """
    path = Path(out_dir) / "latency.json"
    if not path.exists():
        return {}
    earlier = json.loads(path.read_text())
    if (earlier.get("syncs"), earlier.get("scale")) != (syncs, scale):
        return {}
    others = tuple(f"{mode}_" for mode in MODES if mode not in modes)
    return {k: v for k, v in earlier.items() if others and k.startswith(others)}


def run(
    out_dir: Path,
    scale: float = 0.0003,
    syncs: int = 20,
    modes: tuple[Mode, ...] = MODES,
    home: Path | None = None,
) -> dict[str, Any]:
    """Both paths (or ``modes``), ``syncs`` each; the CLI writes ``out_dir/latency.json``.

    ``home`` reuses (and keeps) an estate generated there, e.g. by ``bench up --home``.
    """
    result: dict[str, Any] = _other_paths(out_dir, syncs, scale, tuple(modes))
    result |= {"syncs": syncs, "scale": scale, "poll_interval_s": POLL_INTERVAL_S}
    for mode in modes:
        result |= measure(mode, syncs, scale, home=home)
    result["git_sha"] = git_sha()
    return result
