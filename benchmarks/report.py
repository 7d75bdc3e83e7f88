"""The benchmark report: one PNG per benchmark and a markdown table, from the JSON results.

``fieldforce bench all`` ends with this step; it can be re-run on its own over whatever JSON is
there (``uv run fieldforce bench report [--out DIR]``). It reads ``DIR/NAME.json`` for
each benchmark the project has, draws ``DIR/plots/NAME.png`` and writes ``DIR/report.md``: one
row per benchmark (headline figure, target, scale, the machine it ran on, when), then the plots.
A benchmark without a JSON file is left out, never invented.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on CI machines

import matplotlib.pyplot as plt  # after use(): the backend must be chosen first
from testkit.provenance import RESULTS_DIR

from benchmarks.plots import PLOTS, day_strategies, num

ORDER = ("generate", "landing", "incremental", "load", "latency", "backfill", "day", "scale", "up")
TARGETS = {
    "scale": "sync rebuild / full build at 1.0 ≤ 0.05; sync rebuild 1.0 / 0.1 ≤ 2; peak ≤ 8 GiB",
    "up": "every process ≤ 8 GiB; every Jobs DB sync's eager marts built before the next sync",
    "generate": "—",
    "landing": "≥ 1 M rows/s",
    "incremental": "ratio ≤ 0.05",
    "load": "ratio ≤ 1.5",
    "latency": "webhook p50 ≤ 15 s, p95 ≤ 20 s; polling p50 ≤ 20 s",
    "backfill": "ratio ≤ 1.5, checksums equal",
    "day": "planner: 100 % of windows met; builds ≤ 1/2 of eager's and ≤ sao's; warehouse s"
    " ≤ 1/2 of eager's; eager assets' latency ≤ eager's",
}


def _share(value: Any) -> str:
    return f"{100 * value:.1f} %" if isinstance(value, int | float) else "—"


def _rate(rows_per_s: Any) -> str:
    if not isinstance(rows_per_s, int | float):
        return str(rows_per_s)
    if rows_per_s >= 1e6:
        return f"{rows_per_s / 1e6:.2f} M rows/s"
    return f"{rows_per_s / 1e3:.0f} k rows/s"


def headline(name: str, data: Mapping[str, Any]) -> str:
    """The one-line figure of a benchmark's JSON (what the README table shows)."""
    get = data.get
    if name == "generate":
        return f"{_rate(get('rows_per_s'))} ({num(get('rows'))} rows in {num(get('seconds'))} s)"
    if name == "landing":
        text = (
            f"{_rate(get('rows_per_s'))} ({num(get('rows'))} GPS events in {num(get('seconds'))} s)"
        )
        if "initial_rows_per_s" in data:
            text += f"; initial sync {_rate(get('initial_rows_per_s'))}"
        return text
    if name == "incremental":
        return (
            f"incremental {num(get('incremental_s'))} s vs full refresh "
            f"{num(get('full_refresh_s'))} s: ratio {num(get('ratio'))}"
        )
    if name == "load":
        return (
            f"{num(get('assets'))} assets: definitions {num(get('definitions_s'))} s vs bare "
            f"Dagster {num(get('floor_s'))} s: ratio {num(get('ratio'))}"
        )
    if name == "latency":
        return (
            f"webhook p50 {num(get('webhook_p50_s'))} s / p95 {num(get('webhook_p95_s'))} s; "
            f"polling p50 {num(get('polling_p50_s'))} s / p95 {num(get('polling_p95_s'))} s "
            f"({num(get('syncs'))} syncs each)"
        )
    if name == "backfill":
        return (
            f"{num(get('partitions'))} partitions in {num(get('runs'))} run(s): "
            f"{num(get('backfill_s'))} s vs full refresh {num(get('full_refresh_s'))} s: "
            f"ratio {num(get('ratio'))}, checksums equal: {get('checksums_equal')}"
        )
    if name == "scale":
        return scale_headline(data)
    if name == "up":
        return up_headline(data)
    if name == "day":
        strategies = day_strategies(data)
        builds = " / ".join(num(get(f"{s}_builds")) for s in strategies)
        p50 = " / ".join(num(get(f"{s}_latency_p50_s")) for s in strategies)
        windows = " / ".join(_share(get(f"{s}_windows_met")) for s in strategies)
        fresh = " / ".join(_share(get(f"{s}_freshness_met")) for s in strategies)
        return (
            f"builds ({' / '.join(strategies)}) {builds}; latency p50 {p50} s; "
            f"windows met {windows}; fresh {fresh} "
            f"({num(get('syncs'))} syncs over {num(get('hours'))} h)"
        )
    return ", ".join(f"{k} {num(v)}" for k, v in data.items() if isinstance(v, int | float))


def machine_text(data: Mapping[str, Any]) -> str:
    """Where a result came from, e.g. ``2 cores, 23.5 GiB``."""
    machine = data.get("machine") or {}
    parts = []
    if machine.get("cores"):
        parts.append(f"{machine['cores']} cores")
    if machine.get("memory_gb"):
        parts.append(f"{machine['memory_gb']} GiB")
    return ", ".join(parts) or "unknown machine"


def scale_headline(data: Mapping[str, Any]) -> str:
    """``bench scale``: the sync's rebuild against the full build, and how it grows."""
    get = data.get
    sync, full = get("sync_rebuild_s") or [], get("full_build_s") or []
    return (
        f"Jobs DB sync rebuild {' / '.join(num(v) for v in sync)} s vs full build "
        f"{' / '.join(num(v) for v in full)} s at scales "
        f"{' / '.join(num(v) for v in get('scales') or [])}: ratio at 1.0 "
        f"{num(get('ratio_at_1'))}, growth 0.1 → 1.0 {num(get('growth_0_1_to_1'))}, "
        f"peak {num(get('peak_rss_gib'))} GiB"
    )


def up_headline(data: Mapping[str, Any]) -> str:
    """``bench up``: the phases, the simulated hour, and memory."""
    get = data.get
    phases = get("phases") or {}
    times = ", ".join(
        f"{name.replace('_', ' ')} {num((phases.get(name) or {}).get('seconds'))} s"
        for name in ("start", "first_syncs", "first_build")
    )
    return (
        f"{times}; then {num(get('minutes'))} simulated min at {num(get('speed'))}x: "
        f"{num(get('syncs'))} syncs, {num(get('runs'))} runs, Jobs DB sync → eager marts "
        f"p50 {num(get('lag_p50_s'))} s / max {num(get('lag_max_s'))} s against "
        f"{num(get('interval_s'))} s, kept up: {get('kept_up')}; "
        f"largest process {num(get('peak_rss_gib'))} GiB"
    )


def load_results(results_dir: Path) -> dict[str, dict[str, Any]]:
    """Every benchmark JSON present in ``results_dir``, in the project's order."""
    found = {}
    for name in ORDER:
        path = results_dir / f"{name}.json"
        if path.exists():
            found[name] = json.loads(path.read_text())
    return found


def draw(name: str, data: Mapping[str, Any], path: Path) -> Path:
    """Draw one benchmark's figure to ``path`` (PNG), with where and when it ran."""
    size = (11, 7 + 2 * len(data.get("timeline") or {})) if name == "day" else (7, 4.5)
    fig = plt.figure(figsize=size, layout="constrained")
    try:
        PLOTS[name](fig, data)
        # supxlabel takes part in the layout, so it never overlaps the tick labels.
        fig.supxlabel(
            f"{name}: scale {data.get('scale')}, {machine_text(data)}, {data.get('finished_at', '?')}",
            fontsize=7,
            color="#555555",
        )
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path


def markdown(
    results: Mapping[str, Mapping[str, Any]], plots: Mapping[str, Path], base: Path
) -> str:
    """The report: a table of headline figures, then each plot (paths relative to ``base``)."""
    lines = [
        "# Benchmark report",
        "",
        "Generated by `fieldforce bench all` (or `fieldforce bench report`) from the JSON"
        " files next to this one.",
        "",
        "| benchmark | figure | target | scale | machine | finished |",
        "|---|---|---|---|---|---|",
    ]
    for name, data in results.items():
        lines.append(
            f"| `{name}` | {headline(name, data)} | {TARGETS.get(name, '—')} | {data.get('scale')}"
            f" | {machine_text(data)} | {data.get('finished_at', '?')} |"
        )
    lines.append("")
    for name, path in plots.items():
        lines += [f"![{name}]({path.relative_to(base).as_posix()})", ""]
    return "\n".join(lines)


def build(results_dir: Path = RESULTS_DIR) -> dict[str, Path]:
    """Draw every plot and write ``report.md``; returns the plot paths by benchmark."""
    results = load_results(results_dir)
    plots_dir = results_dir / "plots"
    plots_dir.mkdir(parents=True, exist_ok=True)
    plots = {name: draw(name, data, plots_dir / f"{name}.png") for name, data in results.items()}
    (results_dir / "report.md").write_text(markdown(results, plots, results_dir) + "\n")
    return plots
