"""The SLA planner under a real daemon, with its windows shortened so a test takes minutes.

A stack of its own (the shared one shortens the windows so far that every mart is due at
once): here the planner's windows are a tenth of the declared ones (30 min -> 3 min), so a
``freshness`` mart can wait and absorb several syncs in one build, while the ``eager``
``fct_jobs`` rebuilds after each sync. Each test reads what the daemon did from its instance:
which syncs landed (their ``succeeded_at``), which builds reflected them (their data time,
``fieldforce/data_time``) and when.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import dagster as dg
import duckdb
import psycopg
import pytest
from standins.sources import catalog
from testkit.harness import RunningPlatform

from analytics_platform.automation.datatime import (
    DATA_TIME_METADATA_KEY,
    recorded_data_time,
    sync_time,
)
from tests.fixtures.platform import planner_stack

pytestmark = pytest.mark.timeout(2400)

TIME_SCALE = 0.1
WARN_S = 1800 * TIME_SCALE
"""The warn window of the core, finance and operations marts (30 min), scaled."""
JOBS = dg.AssetKey(["fivetran", "fivetran_postgres_bu_north", "jobs"])
FCT_JOBS = dg.AssetKey(["marts", "core", "fct_jobs"])
FRESHNESS_MART = dg.AssetKey(["marts", "operations", "fct_technician_performance"])
NORTH_JOB = catalog.ID_OFFSET + 5


@pytest.fixture(scope="module")
def planner_platform() -> Iterator[RunningPlatform]:
    with planner_stack("fieldforce-planner-", TIME_SCALE) as running:
        yield running


def _update_job(platform: RunningPlatform, priority: str) -> None:
    dsn = platform.info["sources"]["jobs_db_dsns"]["bu_north"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        updated = conn.execute(
            "update public.jobs set priority = %s, updated_at = now() where job_id = %s",
            (priority, NORTH_JOB),
        ).rowcount
    assert updated == 1


def _landed(platform: RunningPlatform, since: float) -> list[tuple[float, float]]:
    """Each sync of the jobs table reported since ``since``: (its succeeded_at, reported at)."""
    records = (
        platform.instance()
        .fetch_materializations(
            dg.AssetRecordsFilter(asset_key=JOBS, after_timestamp=since), limit=100
        )
        .records
    )
    return sorted((sync_time(r.event_log_entry), r.timestamp) for r in records)


def _reflections(
    platform: RunningPlatform, key: dg.AssetKey, since: float
) -> list[tuple[float, float, str]]:
    """(when, data time of the jobs table, run id) of each build of ``key`` since ``since``.

    A build is a materialization, or, for a daily fact whose build changed no day, the
    observation carrying its data time.
    """
    instance = platform.instance()
    found: list[tuple[float, float, str]] = []
    materializations = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, after_timestamp=since), limit=1000
    ).records
    observations = instance.fetch_observations(
        dg.AssetRecordsFilter(asset_key=key, after_timestamp=since), limit=1000
    ).records
    for record in [*materializations, *observations]:
        entry = record.event_log_entry
        times = recorded_data_time(entry)
        if times is None and entry.asset_observation is not None:
            value = entry.asset_observation.metadata.get(DATA_TIME_METADATA_KEY)
            raw = value.value if isinstance(value, dg.MetadataValue) else None
            times = (
                {dg.AssetKey.from_user_string(k): _epoch(str(v)) for k, v in raw.items()}
                if isinstance(raw, dict)
                else None
            )
        if times is not None and JOBS in times:
            found.append((record.timestamp, times[JOBS], entry.run_id))
    return sorted(found)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _first_reflection(builds: list[tuple[float, float, str]], synced_at: float) -> float | None:
    return next((at for at, data_time, _ in builds if data_time >= synced_at), None)


def _builds(platform: RunningPlatform, key: dg.AssetKey, since: float) -> set[str]:
    """The runs that built ``key`` since ``since`` (a fact reports one event per day)."""
    return {run_id for _, _, run_id in _reflections(platform, key, since)}


def test_a_freshness_mart_absorbs_syncs_and_an_eager_mart_follows_each(
    planner_platform: RunningPlatform,
) -> None:
    platform = planner_platform
    started = time.time()
    syncs = 3
    for i, priority in enumerate(("low", "high", "emergency")):
        _update_job(platform, priority)
        platform.sync("postgres_jobs_bu_north")
        platform.wait_for(
            lambda n=i + 1: len(_landed(platform, started)) >= n, 60, f"sync {i + 1} reported"
        )
        # The eager mart reflects this sync before the next one lands (its window is a tick
        # and a build, not 30 minutes).
        synced_at = _landed(platform, started)[-1][0]
        platform.wait_for(
            lambda s=synced_at: (
                _first_reflection(_reflections(platform, FCT_JOBS, started), s) is not None
            ),
            120,
            f"fct_jobs to reflect sync {i + 1}",
        )
        time.sleep(10)
    landed = _landed(platform, started)
    assert len(landed) == syncs
    # The freshness mart: every sync reflected within its warn window after it landed ...
    last_deadline = max(synced_at for synced_at, _ in landed) + WARN_S
    platform.wait_for(
        lambda: (
            _first_reflection(_reflections(platform, FRESHNESS_MART, started), landed[-1][0])
            is not None
        ),
        last_deadline - time.time() + 120,
        "the freshness mart to reflect the last sync",
    )
    platform.wait_settled()
    mart = _reflections(platform, FRESHNESS_MART, started)
    late = {
        synced_at: _first_reflection(mart, synced_at)
        for synced_at, _ in landed
        if (_first_reflection(mart, synced_at) or float("inf")) > synced_at + WARN_S
    }
    assert late == {}, f"syncs reflected after their window: {late}; builds: {mart}"
    # ... with fewer builds than syncs: it waited for its deadline and served several at once.
    assert 1 <= len(_builds(platform, FRESHNESS_MART, started)) < syncs, mart
    # The eager mart rebuilt after each sync.
    assert len(_builds(platform, FCT_JOBS, started)) >= syncs
    assert _value(platform) == "emergency"


def _value(platform: RunningPlatform) -> str:
    """fct_jobs' priority of the job the tests change."""
    con = duckdb.connect(platform.info["warehouse"]["path"], read_only=True)
    try:
        [(priority,)] = con.execute(
            "select job_priority from core.fct_jobs where job_id = ?", [NORTH_JOB]
        ).fetchall()
    finally:
        con.close()
    return str(priority)


def test_a_killed_daemon_restarts_and_reflects_every_sync_without_rebuilding_current_assets(
    planner_platform: RunningPlatform,
) -> None:
    platform = planner_platform
    platform.wait_settled()
    started = time.time()
    _update_job(platform, "medium")
    platform.sync("postgres_jobs_bu_north")
    instance = platform.instance()
    platform.wait_for(
        lambda: any(
            run.status == dg.DagsterRunStatus.STARTED for run in platform.runs_since(started)
        ),
        120,
        "the planner's run to start",
    )
    platform.kill_daemon()  # mid-run: the run worker lives on, the planner's tick does not
    time.sleep(10)
    platform.restart_daemon()
    [(synced_at, _)] = _landed(platform, started)
    platform.wait_for(
        lambda: (
            _first_reflection(_reflections(platform, FRESHNESS_MART, started), synced_at)
            is not None
        ),
        synced_at + WARN_S - time.time() + 120,
        "the freshness mart to reflect the sync after the restart",
    )
    platform.wait_settled()
    assert _value(platform) == "medium"
    # Every planned asset downstream of the sync reflects it, and was built for it once:
    # nothing current was rebuilt after the restart.
    for key in (FCT_JOBS, FRESHNESS_MART):
        builds = _reflections(platform, key, started)
        assert _first_reflection(builds, synced_at) is not None, key
        assert len({run_id for _, _, run_id in builds}) == 1, (key, builds)
    failed = [
        run.run_id
        for run in instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
        if run.create_timestamp.timestamp() >= started
    ]
    assert failed == []
