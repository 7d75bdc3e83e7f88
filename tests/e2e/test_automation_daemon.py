"""Automation proven under a real Dagster daemon: the data itself starts the smallest rebuild.

The stack runs as the demo runs it (webserver + daemon on ``dagster.yaml``, the local Fivetran,
the webhook receiver). Each test changes sources, forces syncs through Fivetran and then reads
the daemon's instance: which assets materialized, in how many runs, and what the marts say.
"""

from __future__ import annotations

import json
import time
from collections import Counter

import dagster as dg
import duckdb
import httpx
import psycopg
import pytest
from standins.fivetran.webhooks import sign
from standins.sources import catalog
from testkit.harness import RunningPlatform, load_specs, rebuilt_by

# The stack starts once per session (minutes on 2 busy cores): allow for it.
pytestmark = pytest.mark.timeout(2400)

NORTH_JOB = catalog.ID_OFFSET + 3
SOUTH_JOB = catalog.ID_OFFSET * 2 + 3


@pytest.fixture(scope="module")
def specs(running_platform: RunningPlatform) -> dict[dg.AssetKey, dg.AssetSpec]:
    """The code location's specs, loaded in-process against the same running services."""
    return load_specs(running_platform.env())


def _warehouse(platform: RunningPlatform, query: str, params: list[object]) -> list[tuple]:
    deadline = time.monotonic() + 60
    while True:
        try:
            con = duckdb.connect(platform.info["warehouse"]["path"], read_only=True)
            break
        except duckdb.IOException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()


def _update_job(platform: RunningPlatform, tenant: str, job_id: int, priority: str) -> None:
    dsn = platform.info["sources"]["jobs_db_dsns"][tenant]
    with psycopg.connect(dsn, autocommit=True) as conn:
        updated = conn.execute(
            "update public.jobs set priority = %s, updated_at = now() where job_id = %s",
            (priority, job_id),
        ).rowcount
    assert updated == 1, f"job {job_id} not found in {tenant}"


def _builds_since(platform: RunningPlatform, since: float) -> Counter[dg.AssetKey]:
    """In how many runs each dbt asset materialized since ``since``.

    Runs, not events: a partitioned fact's run reports one materialization per day it changed.
    """
    instance = platform.instance()
    runs: dict[dg.AssetKey, set[str]] = {}
    for key in platform.built_since(since):
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_timestamp=since), limit=1000
        )
        runs[key] = {record.run_id for record in result.records}
    return Counter({key: len(ids) for key, ids in runs.items()})


def _explain(platform: RunningPlatform, since: float) -> str:
    """Which runs built what and who asked, and what was reported: for a failure's message."""
    lines = [
        f"run {run.run_id[:8]} {run.status.value} trigger={run.tags.get('fieldforce/trigger')}"
        f" sensor={run.tags.get('dagster/sensor_name')}"
        f" selection={sorted(k.to_user_string() for k in run.asset_selection or ())}"
        for run in platform.runs_since(since)
    ]
    lines += [
        f"reported {key.to_user_string()} x{n}"
        for key, n in platform.materializations_since(since).items()
        if key.path[0] == "fivetran"
    ]
    return "\n".join(lines)


def _partitions_since(platform: RunningPlatform, since: float, key: dg.AssetKey) -> set[str]:
    """The partitions of ``key`` materialized since ``since``."""
    result = platform.instance().fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, after_timestamp=since), limit=1000
    )
    return {record.partition_key for record in result.records if record.partition_key}


def _jobs_asset(tenant: str) -> dg.AssetKey:
    return dg.AssetKey(["fivetran", f"fivetran_postgres_{tenant}", "jobs"])


def _reported_after(
    platform: RunningPlatform, since: float, must_include: set[dg.AssetKey]
) -> set[dg.AssetKey]:
    """The connector tables reported since ``since``, once ``must_include`` are among them."""

    def reported() -> set[dg.AssetKey]:
        return {key for key in platform.materializations_since(since) if key.path[0] == "fivetran"}

    platform.wait_for(lambda: reported() >= must_include, 60, f"reports of {must_include}")
    return reported()


def test_first_build_materialized_every_dbt_asset(
    running_platform: RunningPlatform, specs: dict[dg.AssetKey, dg.AssetSpec]
) -> None:
    instance = running_platform.instance()
    dbt_keys = {key for key, spec in specs.items() if "dbt" in spec.kinds}
    missing = {key for key in dbt_keys if instance.get_latest_materialization_event(key) is None}
    assert missing == set(), f"never built by automation: {sorted(map(str, missing))}"
    failed = [
        run.run_id for run in instance.get_runs() if run.status == dg.DagsterRunStatus.FAILURE
    ]
    assert failed == [], f"failed runs: {failed} ({running_platform.logs()})"


def test_one_connector_sync_rebuilds_only_its_downstream_with_the_new_data(
    running_platform: RunningPlatform, specs: dict[dg.AssetKey, dg.AssetSpec]
) -> None:
    _update_job(running_platform, "bu_north", NORTH_JOB, "emergency")
    started = time.time()
    running_platform.sync("postgres_jobs_bu_north")
    reported = _reported_after(running_platform, started, {_jobs_asset("bu_north")})
    # The sync changed its jobs table and Fivetran's own log/MAR tables, nothing else.
    assert {key for key in reported if key.path[1] != "fivetran_metadata"} == {
        _jobs_asset("bu_north")
    }
    expected = rebuilt_by(specs, reported)
    running_platform.wait_for(
        lambda: set(running_platform.built_since(started)) >= expected,
        timeout_s=300,
        what="the downstream of bu_north's jobs to rebuild",
    )
    running_platform.wait_quiet()
    built = _builds_since(running_platform, started)
    assert set(built) == expected, (
        f"extra: {sorted(map(str, set(built) - expected))}; "
        f"missing: {sorted(map(str, expected - set(built)))}"
    )
    assert all(count == 1 for count in built.values()), built
    # ... in one run, requested by the planner (tables, the facts, reports); a checks-only run
    # may follow with the relationship tests the build skipped.
    runs = running_platform.runs_since(started)
    builds = [run for run in runs if run.tags.get("fieldforce/trigger") != "planner-checks"]
    assert [run.tags.get("fieldforce/trigger") for run in builds] == ["planner"], _explain(
        running_platform, started
    )
    assert _reported_after(running_platform, started, set()) == reported
    # ... and the mart shows the new data.
    rows = _warehouse(
        running_platform,
        "select job_priority, cast(scheduled_date as varchar) from core.fct_jobs where job_id = ?",
        [NORTH_JOB],
    )
    assert [priority for priority, _ in rows] == ["emergency"]
    # The one job that changed is the one row fct_jobs wrote: its day is the partition the run
    # reports, not the partition it was launched for.
    fct_jobs = dg.AssetKey(["marts", "core", "fct_jobs"])
    assert _partitions_since(running_platform, started, fct_jobs) == {rows[0][1]}


def test_two_connectors_landing_together_build_shared_assets_once(
    running_platform: RunningPlatform, specs: dict[dg.AssetKey, dg.AssetSpec]
) -> None:
    _update_job(running_platform, "bu_north", NORTH_JOB, "low")
    _update_job(running_platform, "bu_south", SOUTH_JOB, "emergency")
    started = time.time()
    running_platform.sync("postgres_jobs_bu_north", "postgres_jobs_bu_south")
    both = {_jobs_asset("bu_north"), _jobs_asset("bu_south")}
    first_batch = _reported_after(running_platform, started, both)
    expected = rebuilt_by(specs, first_batch)
    running_platform.wait_for(
        lambda: set(running_platform.built_since(started)) >= expected,
        timeout_s=300,
        what="the shared downstream of both tenants' jobs to rebuild",
    )
    running_platform.wait_quiet()
    built = _builds_since(running_platform, started)
    # A connector reported again, or only after the batch (another connector's sync that
    # happened to land meanwhile), is a second batch: its downstream may rebuild again.
    reports = running_platform.materializations_since(started)
    late = {
        key
        for key, n in reports.items()
        if key.path[0] == "fivetran" and (n > 1 or key not in first_batch)
    }
    allowed_again = rebuilt_by(specs, late) if late else set()
    assert set(built) == expected | allowed_again, _explain(running_platform, started)
    twice = {str(key): n for key, n in built.items() if n != 1 and key not in allowed_again}
    assert twice == {}, _explain(running_platform, started)
    rows = _warehouse(
        running_platform,
        "select job_id, job_priority from core.fct_jobs where job_id in (?, ?) order by 1",
        [NORTH_JOB, SOUTH_JOB],
    )
    assert rows == [(NORTH_JOB, "low"), (SOUTH_JOB, "emergency")]


def test_a_sync_landing_while_its_downstream_builds_is_not_dropped(
    running_platform: RunningPlatform,
) -> None:
    """Vanilla eager() absorbs this update (KNOWN_GROUND); the platform must rebuild it."""
    _update_job(running_platform, "bu_north", NORTH_JOB, "medium")
    started = time.time()
    running_platform.sync("postgres_jobs_bu_north")

    def rebuild_executing() -> bool:
        return any(
            run.status == dg.DagsterRunStatus.STARTED
            for run in running_platform.runs_since(started)
        )

    running_platform.wait_for(rebuild_executing, 300, "the rebuild run to start")
    # The second change lands while that run is executing.
    _update_job(running_platform, "bu_north", NORTH_JOB, "high")
    running_platform.sync("postgres_jobs_bu_north")
    running_platform.wait_for(
        lambda: (
            _warehouse(
                running_platform,
                "select job_priority from core.fct_jobs where job_id = ?",
                [NORTH_JOB],
            )
            == [("high",)]
        ),
        timeout_s=420,
        what="the change that landed mid-run to reach fct_jobs",
    )
    running_platform.wait_quiet()
    failed = [
        run.run_id
        for run in running_platform.runs_since(started)
        if run.status == dg.DagsterRunStatus.FAILURE
    ]
    assert failed == []


def test_a_failing_sync_runs_nothing_downstream_and_is_visible(
    running_platform: RunningPlatform, specs: dict[dg.AssetKey, dg.AssetSpec]
) -> None:
    _update_job(running_platform, "bu_south", SOUTH_JOB, "low")
    with running_platform.fivetran() as client:
        client.post(
            "/admin/faults/postgres_jobs_bu_south",
            json={"type": "fail", "count": 1, "message": "source database refused the login"},
        ).raise_for_status()
    started = time.time()
    [sync] = running_platform.sync("postgres_jobs_bu_south")
    assert sync["status"] == "FAILURE"
    instance = running_platform.instance()

    def latest_observation() -> dg.EventLogRecord | None:
        records = instance.fetch_observations(
            dg.AssetRecordsFilter(asset_key=_jobs_asset("bu_south")), limit=1
        ).records
        return records[0] if records else None

    def failure_observed() -> bool:
        record = latest_observation()
        return bool(record and record.timestamp >= started)

    running_platform.wait_for(failure_observed, 60, "the failed sync to be observed")
    time.sleep(20)  # longer than the debounce and two automation ticks
    assert running_platform.runs_since(started) == []
    assert running_platform.built_since(started) == {}
    record = latest_observation()
    assert record is not None
    observation = record.event_log_entry.asset_observation
    assert observation is not None
    metadata = observation.metadata
    assert metadata["fivetran/sync_status"].value == "FAILURE"
    # The warehouse still holds the last good data (the failed sync committed nothing).
    assert _warehouse(
        running_platform,
        "select job_priority from core.fct_jobs where job_id = ?",
        [SOUTH_JOB],
    ) == [("emergency",)]
    # Recovery: the next sync lands the change that the failed one could not.
    recovered = time.time()
    running_platform.sync("postgres_jobs_bu_south")
    running_platform.wait_for(
        lambda: (
            _warehouse(
                running_platform,
                "select job_priority from core.fct_jobs where job_id = ?",
                [SOUTH_JOB],
            )
            == [("low",)]
        ),
        timeout_s=300,
        what="the change to reach fct_jobs after recovery",
    )
    assert running_platform.runs_since(recovered)
    running_platform.wait_quiet()  # the reports over the facts are the chain's last link


def test_a_forged_webhook_gets_401_and_nothing_happens(running_platform: RunningPlatform) -> None:
    running_platform.wait_quiet()  # nothing of an earlier test may still be building
    url = running_platform.info["webhook_url"]
    payload = {
        "event": "sync_end",
        "created": "2026-11-23T12:00:00.000Z",
        "connector_type": "postgres",
        "connector_id": "postgres_jobs_bu_north",
        "connector_name": "postgres_jobs_bu_north",
        "sync_id": "forged",
        "destination_group_id": "fieldforce_local",
        "data": {"status": "SUCCESSFUL"},
    }
    body = json.dumps(payload).encode()
    # Land a real change in the warehouse first, without its webhook: a forged sync_end must
    # not be able to make it report.
    started = time.time()
    for signature in (None, sign(body, "not-the-secret"), "00" * 32):
        headers = {"Content-Type": "application/json"}
        if signature:
            headers["X-Fivetran-Signature-256"] = signature
        response = httpx.post(url, content=body, headers=headers, timeout=30)
        assert response.status_code == 401, response.text
    time.sleep(15)
    assert running_platform.materializations_since(started) == {}
    assert running_platform.runs_since(started) == []
