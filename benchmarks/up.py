"""``fieldforce up`` at the design's volume: each phase's time and memory, then an hour of syncs.

The platform is the one ``fieldforce up`` starts (:class:`~devstack.launcher.LocalPlatform`:
the estate, the local Fivetran on its schedules, the change stream, the alert stand-ins, the
Dagster webserver and daemon, the webhook receiver), at ``--scale`` (1.0 = the design's 10 M
jobs, 50 M GPS events a day). Its clock runs ``--speed`` times faster than the calendar, and the
planner's windows shrink by as much (``FIELDFORCE_PLANNER_TIME_SCALE = 1 / speed``), so a
simulated hour keeps the design's cadences (Jobs DB every 15 minutes, GPS hourly) relative to
its SLAs. Phases, each timed and with the peak resident set of every process in it
(:mod:`benchmarks.memory`):

1. ``start``: the estate generated (or reused, ``--home``), every service up;
2. ``first_syncs``: until every connector's historical sync succeeded;
3. ``first_build``: until every dbt asset has materialized once (automation's first build);
4. ``hour``: ``--minutes`` simulated minutes of the change stream and the scheduled syncs.

Kept up, read from the Fivetran's sync history and the daemon's instance: for every Jobs DB
sync that landed rows during the hour, ``lag`` = its end to the materialization of every eager
mart downstream of the tables it changed; every lag must be under the connector's interval in
real seconds (the next sync's arrival), no run may fail, and the run queue must drain. Syncs
near the hour's end get one more interval to be built.

Keys: ``phases`` (seconds and memory each), ``peak_rss_gib`` (the largest process, any phase),
``syncs``, ``runs``, ``runs_failed``, ``run_s_p50``, ``run_s_max``, ``lag_p50_s``,
``lag_max_s``, ``interval_s``, ``kept_up``. Run:
``uv run fieldforce bench up --scale 1.0 [--minutes 60] [--speed 4] [--home DIR]``.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
from devstack.launcher import LocalPlatform
from devstack.ports import free_port
from testkit.harness import RunningPlatform, load_specs, rebuilt_by

from analytics_platform.automation.policy import Eager, policy_of
from benchmarks.memory import MemorySampler

JOBS_PREFIX = "postgres_jobs_"
JOBS_INTERVAL_MIN = 15
"""The Jobs DB connectors' sync frequency (``fivetran.yaml``), simulated minutes."""
FIRST_SYNCS_TIMEOUT_S = 3600
FIRST_BUILD_TIMEOUT_S = 5400
DISK_GIB_PER_SCALE = 30
"""Free disk a scale-1.0 home needs: PostgreSQL (~14 GiB), GPS files, the warehouse (~12 GiB)."""
PLATFORM_FILES = ("warehouse.duckdb", "warehouse.duckdb.wal", "fivetran", "dagster", "tmp", "logs")
"""What a reused home loses before a measurement: everything but the generated estate."""


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def clean_reused(home: Path) -> None:
    """Drop the warehouse, Fivetran state and Dagster instance of a previous run in ``home``."""
    for name in PLATFORM_FILES:
        path = home / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _check_disk(home: Path, scale: float) -> None:
    free = shutil.disk_usage(home).free / 2**30
    needed = DISK_GIB_PER_SCALE * scale + 2
    if free < needed:
        raise RuntimeError(
            f"bench up --scale {scale}: {free:.1f} GiB free under {home}, ~{needed:.0f} GiB needed"
        )


def lags(
    syncs: list[dict[str, Any]],
    built: dict[dg.AssetKey, list[float]],
    expected: dict[str, set[dg.AssetKey]],
) -> list[float | None]:
    """Per sync, seconds from its end until every expected asset materialized after it.

    Args:
        syncs: Fivetran history entries (``connector_id``, ``finished_at``).
        built: materialization timestamps per asset.
        expected: per connector id, the assets its sync must bring up to date.

    Returns:
        One lag per sync, None when an expected asset never materialized after it.
    """
    result: list[float | None] = []
    for sync in syncs:
        end = _epoch(sync["finished_at"])
        keys = expected.get(sync["connector_id"], set())
        firsts = [min((t for t in built.get(key, ()) if t >= end), default=None) for key in keys]
        if not keys or any(t is None for t in firsts):
            result.append(None)
        else:
            result.append(round(max(t for t in firsts if t is not None) - end, 2))
    return result


def _eager_marts(specs: dict[dg.AssetKey, dg.AssetSpec], connector_schema: str) -> set[dg.AssetKey]:
    """The eager marts downstream of any table of the connector's schema."""
    changed = {key for key in specs if key.path[:2] == ["fivetran", connector_schema]}
    return {
        key
        for key in rebuilt_by(specs, changed)
        if key.path[0] == "marts" and isinstance(policy_of(specs[key]), Eager)
    }


def _wait_first_syncs(running: RunningPlatform, timeout_s: float) -> dict[str, float]:
    """Until every connector's first sync succeeded; seconds from now to each."""
    started = time.time()
    done: dict[str, float] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with running.fivetran() as client:
            connectors = client.get("/admin/status").json()["connectors"]
        for cid, state in connectors.items():
            if state.get("succeeded_at") and cid not in done:
                done[cid] = round(time.time() - started, 1)
            if state.get("failures_in_a_row", 0) >= 3:
                raise RuntimeError(
                    f"connector {cid}'s first sync failed 3 times: {state.get('last_error')}"
                    f" ({running.logs()})"
                )
        if connectors and len(done) == len(connectors):
            return done
        _check_alive(running)
        time.sleep(2.0)
    raise TimeoutError(
        f"first syncs: {sorted(set(connectors) - set(done))} not done after {timeout_s} s"
        f" ({running.logs()})"
    )


def _check_alive(running: RunningPlatform) -> None:
    dead = running.platform.supervisor.dead()
    if dead:
        names = ", ".join(f"{c.name} (see {c.log_path})" for c in dead)
        raise RuntimeError(f"stopped unexpectedly: {names}")


def _wait_first_build(running: RunningPlatform, keys: list[dg.AssetKey], timeout_s: float) -> None:
    instance = running.instance()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        missing = [k for k in keys if instance.get_latest_materialization_event(k) is None]
        if not missing:
            return
        failed = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
        if failed:
            raise RuntimeError(
                f"first build: run {failed[0].run_id} failed; {len(missing)} assets unbuilt"
                f" ({running.logs()})"
            )
        _check_alive(running)
        time.sleep(5.0)
    raise TimeoutError(f"first build not done after {timeout_s} s ({running.logs()})")


def _hour(running: RunningPlatform, seconds: float) -> int:
    """Let the platform run ``seconds``; the largest number of queued runs seen."""
    instance = running.instance()
    deadline = time.monotonic() + seconds
    queued_max = 0
    while time.monotonic() < deadline:
        queued = instance.get_runs_count(
            filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED])
        )
        queued_max = max(queued_max, queued)
        _check_alive(running)
        time.sleep(5.0)
    return queued_max


def run(
    out_dir: Path,
    scale: float = 1.0,
    minutes: float = 60.0,
    speed: float = 4.0,
    home: Path | None = None,
    keep: bool = False,
) -> dict[str, Any]:
    """Bring the platform up at ``scale``, run ``minutes`` simulated minutes; the figures.

    Args:
        out_dir: where the CLI writes ``up.json``.
        scale: the estate's volume (1.0 = the design's).
        minutes: simulated minutes of syncs after the first build.
        speed: simulated seconds per real second.
        home: the platform's data directory; an estate generated there with the same scale is
            reused (its generation is then not in ``start``), everything else is dropped.
        keep: keep the home afterwards (a temporary one is removed otherwise).
    """
    temporary = home is None
    home = (home or Path(tempfile.mkdtemp(prefix=f"bench-up-{scale}-", dir="/tmp"))).resolve()
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o711)  # PostgreSQL's server account traverses it
    _check_disk(home, scale)
    clean_reused(home)
    interval_s = JOBS_INTERVAL_MIN * 60 / speed
    stages: dict[str, float] = {}
    started = time.monotonic()

    def progress(stage: str, done: int, total: int) -> None:
        stages[stage] = round(time.monotonic() - started, 1)

    platform = LocalPlatform(
        home=home,
        scale=scale,
        speed=speed,
        dagster_port=free_port(),
        extra_env={"FIELDFORCE_PLANNER_TIME_SCALE": str(1 / speed)},
    )
    phases: dict[str, dict[str, Any]] = {}
    result: dict[str, Any] = {"scale": scale, "speed": speed, "minutes": minutes}
    try:
        with MemorySampler(marker=str(home)) as sampler:
            with sampler.phase("start"):
                platform.start(progress=progress)
            phases["start"] = {"seconds": round(time.monotonic() - started, 1), "stages": stages}
            running = RunningPlatform(platform)
            print(f"  up: started in {phases['start']['seconds']} s", flush=True)

            mark = time.monotonic()
            with sampler.phase("first_syncs"):
                per_connector = _wait_first_syncs(running, FIRST_SYNCS_TIMEOUT_S)
            phases["first_syncs"] = {
                "seconds": round(time.monotonic() - mark, 1),
                "per_connector_s": per_connector,
            }
            print(f"  up: first syncs in {phases['first_syncs']['seconds']} s", flush=True)

            specs = load_specs(running.env())
            dbt_keys = [key for key, spec in specs.items() if "dbt" in spec.kinds]
            mark = time.monotonic()
            with sampler.phase("first_build"):
                _wait_first_build(running, dbt_keys, FIRST_BUILD_TIMEOUT_S)
            phases["first_build"] = {"seconds": round(time.monotonic() - mark, 1)}
            print(f"  up: first build in {phases['first_build']['seconds']} s", flush=True)

            hour_start = time.time()
            mark = time.monotonic()
            with sampler.phase("hour"):
                queued_max = _hour(running, minutes * 60 / speed)
                hour_end = time.time()
                # The last syncs get one interval to be built, as every other sync had.
                queued_max = max(queued_max, _hour(running, interval_s))
            phases["hour"] = {"seconds": round(time.monotonic() - mark, 1)}
            result |= _kept_up(running, specs, hour_start, hour_end, interval_s, queued_max)
        memory = sampler.report()
        for name, figures in memory.pop("phase_rss_gib").items():
            phases.setdefault(name, {})["rss_gib"] = figures
        result |= {"phases": phases, **memory, "home": str(home)}
    finally:
        platform.stop()
        if temporary and not keep:
            shutil.rmtree(home, ignore_errors=True)
    print(
        f"  up: kept up {result.get('kept_up')}, lag p50 {result.get('lag_p50_s')} s,"
        f" max {result.get('lag_max_s')} s (interval {interval_s:.0f} s),"
        f" peak {result.get('peak_rss_gib')} GiB",
        flush=True,
    )
    return result


def _kept_up(
    running: RunningPlatform,
    specs: dict[dg.AssetKey, dg.AssetSpec],
    since: float,
    until: float,
    interval_s: float,
    queued_max: int,
) -> dict[str, Any]:
    """Whether every Jobs DB sync of ``[since, until)`` was built within one interval."""
    with running.fivetran() as client:
        history = client.get("/admin/syncs", params={"limit": "5000"}).json()["items"]
        connectors = client.get("/v1/connectors").json()["data"]["items"]
    schemas = {c["id"]: c["schema"] for c in connectors}
    in_hour = [s for s in history if since <= _epoch(s["finished_at"]) < until]
    jobs_syncs = [
        s
        for s in in_hour
        if s["connector_id"].startswith(JOBS_PREFIX)
        and s["status"] == "SUCCESSFUL"
        and s["rows_inserted"] + s["rows_updated"] + s["rows_deleted"] > 0
    ]
    expected = {cid: _eager_marts(specs, schemas[cid]) for cid in schemas}
    instance = running.instance()
    built = {
        key: [
            r.timestamp
            for r in instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, after_timestamp=since), limit=10_000
            ).records
        ]
        for keys in expected.values()
        for key in keys
    }
    sync_lags = lags(jobs_syncs, built, expected)
    measured = [lag for lag in sync_lags if lag is not None]
    runs = [
        record
        for record in instance.get_run_records(
            filters=dg.RunsFilter(created_after=datetime.fromtimestamp(since).astimezone())
        )
    ]
    failed = [r.dagster_run.run_id for r in runs if r.dagster_run.status.value == "FAILURE"]
    durations = [r.end_time - r.start_time for r in runs if r.start_time and r.end_time]
    kept_up = (
        bool(jobs_syncs)
        and all(lag is not None and lag < interval_s for lag in sync_lags)
        and not failed
    )
    return {
        "syncs": len(in_hour),
        "syncs_by_connector": {
            cid: sum(s["connector_id"] == cid for s in in_hour) for cid in sorted(schemas)
        },
        "jobs_syncs": len(jobs_syncs),
        "rows_landed": sum(
            s["rows_inserted"] + s["rows_updated"] + s["rows_deleted"] for s in in_hour
        ),
        "lags_s": sync_lags,
        "lag_p50_s": round(statistics.median(measured), 2) if measured else None,
        "lag_max_s": max(measured) if measured else None,
        "interval_s": interval_s,
        "runs": len(runs),
        "runs_failed": failed,
        "run_s_p50": round(statistics.median(durations), 2) if durations else None,
        "run_s_max": round(max(durations), 2) if durations else None,
        "queued_max": queued_max,
        "kept_up": kept_up,
    }
