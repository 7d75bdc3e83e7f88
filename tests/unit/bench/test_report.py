"""The benchmark report: headline figures, plots and the markdown table (benchmarks/report.py)."""

import json
from pathlib import Path

from benchmarks.report import build, headline, machine_text

MACHINE = {"cores": 2, "memory_gb": 23.5}
DAY = {
    "build_all_builds": 10841,
    "build_all_coalesced_builds": 3552,
    "source_plus_builds": 2600,
    "automation_builds": 1300,
    "build_all_warehouse_s": 2900.5,
    "build_all_coalesced_warehouse_s": 900.5,
    "source_plus_warehouse_s": 700.25,
    "automation_warehouse_s": 300.0,
    "build_all_latency_p50_s": 40.0,
    "build_all_coalesced_latency_p50_s": 8.0,
    "source_plus_latency_p50_s": 10.0,
    "automation_latency_p50_s": 9.5,
    "build_all_latency_p95_s": 90.0,
    "build_all_coalesced_latency_p95_s": 9.0,
    "source_plus_latency_p95_s": 12.0,
    "automation_latency_p95_s": 11.0,
    "build_all_freshness_met": 1.0,
    "build_all_coalesced_freshness_met": 1.0,
    "source_plus_freshness_met": 1.0,
    "automation_freshness_met": 0.9875,
    "syncs": 293,
    "hours": 24.0,
    "scale": 0.003,
    "machine": MACHINE,
    "finished_at": "2026-11-23T15:00:00+00:00",
}
LATENCY = {
    "syncs": 20,
    "webhook_p50_s": 14.2,
    "webhook_p95_s": 21.0,
    "polling_p50_s": 20.5,
    "polling_p95_s": 33.0,
    "scale": 0.0003,
    "machine": MACHINE,
    "finished_at": "2026-11-23T14:00:00+00:00",
}


def test_headlines_name_each_strategy_and_path() -> None:
    day = headline("day", DAY)
    assert "10,841 / 3,552 / 2,600 / 1,300" in day
    assert "latency p50 40 / 8 / 10 / 9.5 s" in day
    assert "98.8 %" in day and "293 syncs" in day
    latency = headline("latency", LATENCY)
    assert "webhook p50 14.2 s / p95 21 s" in latency
    assert (
        headline("landing", {"rows_per_s": 1_284_766, "rows": 50_000_000, "seconds": 38.9})[:14]
        == "1.28 M rows/s "
    )
    assert machine_text(DAY) == "2 cores, 23.5 GiB"
    assert machine_text({}) == "unknown machine"


def test_build_draws_one_png_per_result_and_a_table(tmp_path: Path) -> None:
    (tmp_path / "day.json").write_text(json.dumps(DAY))
    (tmp_path / "latency.json").write_text(json.dumps(LATENCY))
    plots = build(tmp_path)
    assert list(plots) == ["latency", "day"]  # the project's order; absent ones left out
    for path in plots.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 10_000
    report = (tmp_path / "report.md").read_text()
    rows = [line for line in report.splitlines() if line.startswith("| `")]
    assert [row.split("|")[1].strip() for row in rows] == ["`latency`", "`day`"]
    assert "2 cores, 23.5 GiB" in rows[1]
    assert "![day](plots/day.png)" in report
