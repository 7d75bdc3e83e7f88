"""``bench up``'s pure parts: sync lags, process roles, the memory sampler and the headline."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from benchmarks.memory import MemorySampler, role
from benchmarks.report import build, headline
from benchmarks.up import lags

FCT = dg.AssetKey(["marts", "fct_jobs"])
BOARD = dg.AssetKey(["marts", "rpt_live_job_board"])


def _sync(cid: str, finished: str) -> dict[str, str]:
    return {"connector_id": cid, "finished_at": finished}


def test_a_syncs_lag_is_until_the_last_of_its_marts_is_built_after_it() -> None:
    t0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    syncs = [
        _sync("postgres_jobs_bu_north", "2026-01-01T00:00:00Z"),
        _sync("postgres_jobs_bu_north", "2026-01-01T00:01:00Z"),
        _sync("postgres_jobs_bu_south", "2026-01-01T00:02:00Z"),
    ]
    built = {
        # A build that ended before the sync does not count for it.
        FCT: [t0 - 5, t0 + 12, t0 + 70],
        BOARD: [t0 + 9, t0 + 75],
    }
    expected = {
        "postgres_jobs_bu_north": {FCT, BOARD},
        "postgres_jobs_bu_south": {FCT, BOARD},
    }
    # first: both after t0, the later at +12; second: +70 and +75 after +60 -> 15;
    # third (+120): nothing built after it -> None.
    assert lags(syncs, built, expected) == [12.0, 15.0, None]


def test_a_sync_with_nothing_expected_has_no_lag() -> None:
    syncs = [_sync("sheets", "2026-01-01T00:00:00Z")]
    assert lags(syncs, {FCT: [1e12]}, {"sheets": set()}) == [None]


def test_roles_come_from_the_command_line() -> None:
    assert role("/usr/lib/postgresql/15/bin/postgres -D /tmp/h/pg", 10, 1) == "postgres"
    assert role("postgres: checkpointer", 11, 1) == "postgres"
    assert role("/v/bin/python /v/bin/dagster api execute_run {}", 12, 1) == "dagster run worker"
    spawned = (
        "/v/bin/python -c from multiprocessing.spawn import spawn_main;"
        " spawn_main(tracker_fd=6, pipe_handle=12) --multiprocessing-fork"
    )
    assert role(spawned, 16, 1) == "dagster run worker"
    assert role("/v/bin/python -m standins.fivetran serve", 13, 1) == "local fivetran"
    assert role("/v/bin/dagster-daemon run -w w.yaml", 14, 1) == "dagster daemon"
    assert role("anything", 1, 1).startswith("benchmark")
    assert role("/usr/bin/sleep 30", 15, 1) == "sleep"


def test_the_sampler_finds_a_child_and_its_peak(tmp_path: Path) -> None:
    """A child that holds ~64 MiB is sampled with at least that peak, under its phase."""
    code = (
        "import time; b = bytearray(64 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(3)"
    )
    with MemorySampler(marker=str(tmp_path), interval_s=0.1) as sampler:
        with sampler.phase("child"):
            child = subprocess.Popen([sys.executable, "-c", code])
            time.sleep(2)
            child.wait(timeout=30)
    report = sampler.report()
    python = Path(sys.executable).name
    assert report["peak_rss_by_role_gib"][python] >= 64 / 1024
    assert report["phase_rss_gib"]["child"]["largest_process"] >= 64 / 1024
    assert report["phase_rss_gib"]["child"]["all_processes"] >= 64 / 1024
    # This process is in every sample, under its own role.
    assert any(r.startswith("benchmark") for r in report["peak_rss_by_role_gib"])
    assert os.getpid() == sampler.own_pid


def test_the_headline_and_plot_come_from_the_json(tmp_path: Path) -> None:
    data = {
        "scale": 1.0,
        "speed": 4.0,
        "minutes": 60.0,
        "phases": {
            "start": {"seconds": 400.0},
            "first_syncs": {"seconds": 300.0},
            "first_build": {"seconds": 900.0},
            "hour": {"seconds": 1125.0},
        },
        "syncs": 12,
        "runs": 9,
        "lag_p50_s": 40.0,
        "lag_max_s": 80.0,
        "interval_s": 225.0,
        "kept_up": True,
        "peak_rss_gib": 4.6,
        "peak_rss_by_role_gib": {"postgres": 1.0, "dagster run worker": 3.5},
    }
    text = headline("up", data)
    assert "start 400 s" in text and "first build 900 s" in text
    assert "kept up: True" in text and "4.6 GiB" in text
    (tmp_path / "up.json").write_text(json.dumps(data))
    plots = build(tmp_path)
    assert plots["up"].exists()
    assert "`up`" in (tmp_path / "report.md").read_text()
