"""``bench scale``'s pure parts: figures from run results, the change sizes and the key ratios."""

import json
from pathlib import Path

import dagster as dg
import pytest
from standins.sources.config import FULL_SCALE_GPS_EVENTS_PER_DAY, FULL_SCALE_JOBS

from benchmarks.report import build, headline
from benchmarks.scale import (
    TENANTS,
    built_nodes,
    gps_batch_rows,
    jobs_change,
    key_figures,
    node_seconds,
    selection,
)

RUN_RESULTS = {
    "results": [
        {
            "unique_id": "model.dbt_fieldforce.int_jobs_enriched",
            "execution_time": 1.5,
            "status": "success",
        },
        {"unique_id": "model.dbt_fieldforce.fct_jobs", "execution_time": 0.25, "status": "success"},
        {"unique_id": "seed.dbt_fieldforce.regions", "execution_time": 0.125, "status": "success"},
        {
            "unique_id": "snapshot.dbt_fieldforce.snp_customers",
            "execution_time": 2.0,
            "status": "error",
        },
        {
            "unique_id": "test.dbt_fieldforce.unique_fct_jobs_job_id",
            "execution_time": 9.0,
            "status": "pass",
        },
        {"unique_id": "model.dbt_fieldforce.dim_date", "execution_time": None, "status": "skipped"},
    ]
}


def test_warehouse_seconds_sum_the_built_nodes_and_leave_tests_out() -> None:
    assert node_seconds(RUN_RESULTS) == pytest.approx(1.5 + 0.25 + 0.125 + 2.0)
    assert node_seconds({"results": []}) == 0.0
    assert built_nodes(RUN_RESULTS) == ["fct_jobs", "int_jobs_enriched", "regions"]


def test_the_change_sets_come_from_the_design_volumes_and_do_not_grow_with_the_scale() -> None:
    change = jobs_change()
    per_sync = FULL_SCALE_JOBS / len(TENANTS) / 90 / 96
    assert change.new_jobs == round(per_sync)
    assert change.updated_jobs == 3 * change.new_jobs
    assert change.rows == (
        change.new_jobs
        + change.updated_jobs
        + change.deleted_jobs
        + change.new_line_items
        + change.new_customers
    )
    assert 500 < change.new_jobs < 700
    assert gps_batch_rows() == round(FULL_SCALE_GPS_EVENTS_PER_DAY / 24)
    # A smaller design scale gives a smaller change: the sizes are computed, not fixed.
    assert jobs_change(0.1).new_jobs < change.new_jobs


def test_ratio_and_growth_are_taken_at_the_right_scales() -> None:
    figures = key_figures([0.01, 0.1, 1.0], [2.0, 3.0, 4.5], [10.0, 40.0, 300.0], 6.5)
    assert figures["ratio_at_1"] == pytest.approx(4.5 / 300.0, abs=1e-4)
    assert figures["growth_0_1_to_1"] == pytest.approx(1.5)
    assert figures["targets"] == {"ratio_at_1": True, "growth_0_1_to_1": True, "peak_rss_gib": True}
    worse = key_figures([0.01, 0.1, 1.0], [2.0, 3.0, 30.0], [10.0, 40.0, 300.0], 9.0)
    assert worse["targets"] == {
        "ratio_at_1": False,
        "growth_0_1_to_1": False,
        "peak_rss_gib": False,
    }


def test_a_missing_scale_leaves_its_figure_unknown() -> None:
    figures = key_figures([0.01, 0.1], [2.0, 3.0], [10.0, 40.0], 1.0)
    assert figures["ratio_at_1"] is None and figures["growth_0_1_to_1"] is None
    assert figures["targets"]["ratio_at_1"] is None


def test_the_selection_is_the_union_of_the_landed_tables_rebuilds() -> None:
    jobs = dg.AssetKey(["fivetran", "fivetran_postgres_bu_north", "jobs"])
    items = dg.AssetKey(["fivetran", "fivetran_postgres_bu_north", "job_line_items"])
    gps = dg.AssetKey(["fivetran", "fivetran_telematics", "gps_events"])
    enriched = dg.AssetKey(["intermediate", "int_jobs_enriched"])
    fct = dg.AssetKey(["marts", "core", "fct_jobs"])
    daily = dg.AssetKey(["intermediate", "int_technician_daily_metrics"])
    rebuilds = {jobs: frozenset({enriched, fct}), items: frozenset({fct}), gps: frozenset({daily})}
    names = {key: key.path[-1] for key in (enriched, fct, daily)}
    assert selection(rebuilds, [jobs, items], names) == ["fct_jobs", "int_jobs_enriched"]
    assert selection(rebuilds, [gps], names) == ["int_technician_daily_metrics"]
    assert selection(rebuilds, [], names) == []


SCALE_RESULT = {
    "scales": [0.01, 0.1, 1.0],
    "sync_rebuild_s": [2.5, 3.0, 4.5],
    "gps_rebuild_s": [1.0, 1.5, 2.0],
    "full_build_s": [10.0, 40.0, 300.0],
    "ratio_at_1": 0.015,
    "growth_0_1_to_1": 1.5,
    "peak_rss_gib": 5.25,
    "scale": 1.0,
    "machine": {"cores": 2, "memory_gb": 23.5},
    "finished_at": "2026-12-07T05:00:00+00:00",
}


def test_the_report_shows_the_scale_figures_and_plots_them_log_log(tmp_path: Path) -> None:
    line = headline("scale", SCALE_RESULT)
    assert "2.5 / 3 / 4.5 s vs full build 10 / 40 / 300 s" in line
    assert "ratio at 1.0 0.015" in line and "growth 0.1 → 1.0 1.5" in line
    assert "peak 5.25 GiB" in line
    (tmp_path / "scale.json").write_text(json.dumps(SCALE_RESULT))
    plots = build(tmp_path)
    assert plots["scale"].stat().st_size > 10_000
    assert "| `scale` |" in (tmp_path / "report.md").read_text()
