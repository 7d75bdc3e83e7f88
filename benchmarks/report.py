"""The benchmark report: one PNG per benchmark and a markdown table, from the JSON results.

``fieldforce bench all`` ends with this step; it can be re-run on its own over whatever JSON is
there (``uv run fieldforce bench report [--out DIR]``). It reads ``DIR/NAME.json`` for
each benchmark the project has, draws ``DIR/plots/NAME.png`` and writes ``DIR/report.md``: one
row per benchmark (headline figure, target, scale, the machine it ran on, when), then the plots.
A benchmark without a JSON file is left out, never invented.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on CI machines

import matplotlib.pyplot as plt  # after use(): the backend must be chosen first
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from testkit.provenance import RESULTS_DIR

ORDER = ("generate", "landing", "incremental", "load", "latency", "backfill", "day")
TARGETS = {
    "generate": "—",
    "landing": "≥ 1 M rows/s",
    "incremental": "ratio ≤ 0.05",
    "load": "ratio ≤ 1.5",
    "latency": "p50 ≤ 30 s, p95 ≤ 60 s",
    "backfill": "ratio ≤ 1.5, checksums equal",
    "day": "automation ≤ 1/5 of build_all's and ≤ 1/2 of source_plus's builds, 100 % fresh, "
    "latency ≤ source_plus",
}
STRATEGIES = ("build_all", "build_all_coalesced", "source_plus", "automation")
COLORS = {
    "build_all": "#9e9e9e",
    "build_all_coalesced": "#c8c8c8",
    "source_plus": "#f0a030",
    "automation": "#2b7bb9",
}
LABELS = {
    "build_all": "build_all\n(per sync)",
    "build_all_coalesced": "build_all\n(per tick)",
    "source_plus": "source_plus",
    "automation": "automation",
}


def _num(value: Any) -> str:
    """A figure for humans: thousands separated, at most three significant decimals."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    return str(value)


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
        return f"{_rate(get('rows_per_s'))} ({_num(get('rows'))} rows in {_num(get('seconds'))} s)"
    if name == "landing":
        text = f"{_rate(get('rows_per_s'))} ({_num(get('rows'))} GPS events in {_num(get('seconds'))} s)"
        if "initial_rows_per_s" in data:
            text += f"; initial sync {_rate(get('initial_rows_per_s'))}"
        return text
    if name == "incremental":
        return (
            f"incremental {_num(get('incremental_s'))} s vs full refresh "
            f"{_num(get('full_refresh_s'))} s: ratio {_num(get('ratio'))}"
        )
    if name == "load":
        return (
            f"{_num(get('assets'))} assets: definitions {_num(get('definitions_s'))} s vs bare "
            f"Dagster {_num(get('floor_s'))} s: ratio {_num(get('ratio'))}"
        )
    if name == "latency":
        return (
            f"webhook p50 {_num(get('webhook_p50_s'))} s / p95 {_num(get('webhook_p95_s'))} s; "
            f"polling p50 {_num(get('polling_p50_s'))} s / p95 {_num(get('polling_p95_s'))} s "
            f"({_num(get('syncs'))} syncs each)"
        )
    if name == "backfill":
        return (
            f"{_num(get('partitions'))} partitions in {_num(get('runs'))} run(s): "
            f"{_num(get('backfill_s'))} s vs full refresh {_num(get('full_refresh_s'))} s: "
            f"ratio {_num(get('ratio'))}, checksums equal: {get('checksums_equal')}"
        )
    if name == "day":
        builds = " / ".join(_num(get(f"{s}_builds")) for s in STRATEGIES)
        p50 = " / ".join(_num(get(f"{s}_latency_p50_s")) for s in STRATEGIES)
        fresh = " / ".join(
            f"{100 * get(f'{s}_freshness_met'):.1f} %"
            if isinstance(get(f"{s}_freshness_met"), int | float)
            else "—"
            for s in STRATEGIES
        )
        return (
            f"builds (all per sync / all per tick / source+ / automation) {builds}; "
            f"latency p50 {p50} s; "
            f"fresh {fresh} ({_num(get('syncs'))} syncs over {_num(get('hours'))} h)"
        )
    return ", ".join(f"{k} {_num(v)}" for k, v in data.items() if isinstance(v, int | float))


def machine_text(data: Mapping[str, Any]) -> str:
    """Where a result came from, e.g. ``2 cores, 23.5 GiB``."""
    machine = data.get("machine") or {}
    parts = []
    if machine.get("cores"):
        parts.append(f"{machine['cores']} cores")
    if machine.get("memory_gb"):
        parts.append(f"{machine['memory_gb']} GiB")
    return ", ".join(parts) or "unknown machine"


# ---------------------------------------------------------------------------------------------
# Plots: one function per benchmark, each drawing on its own figure
# ---------------------------------------------------------------------------------------------


def _bars(
    ax: Axes, labels: list[str], values: list[float], colors: list[str] | None = None
) -> None:
    bars = ax.bar(labels, values, color=colors or "#2b7bb9")
    for bar, value in zip(bars, values, strict=True):
        ax.annotate(
            _num(value),
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )


def _values(data: Mapping[str, Any], keys: list[str]) -> tuple[list[str], list[float]]:
    present = [k for k in keys if isinstance(data.get(k), int | float)]
    return present, [float(data[k]) for k in present]


def plot_generate(fig: Figure, data: Mapping[str, Any]) -> None:
    """Rows per second generated, per source system and overall."""
    ax = fig.subplots()
    systems = [
        k.removesuffix("_rows_per_s")
        for k in data
        if k.endswith("_rows_per_s") and k != "rows_per_s"
    ]
    labels, values = _values(data, [f"{s}_rows_per_s" for s in systems] + ["rows_per_s"])
    _bars(
        ax,
        ["total" if k == "rows_per_s" else k.removesuffix("_rows_per_s") for k in labels],
        values,
    )
    ax.set_ylabel("rows / s")
    ax.set_title(f"Source estate generation ({_num(data.get('rows'))} rows)")
    ax.tick_params(axis="x", rotation=30)


def plot_landing(fig: Figure, data: Mapping[str, Any]) -> None:
    """Landing throughput: the GPS day (append) and the initial Jobs DB sync, against 1 M rows/s."""
    ax = fig.subplots()
    labels, values = _values(data, ["rows_per_s", "initial_rows_per_s"])
    names = {"rows_per_s": "GPS day (append)", "initial_rows_per_s": "initial sync"}
    _bars(ax, [names[k] for k in labels], values)
    ax.axhline(1_000_000, color="red", linestyle="--", linewidth=1, label="target 1 M rows/s")
    ax.set_ylabel("rows / s")
    ax.set_title("Landing throughput")
    ax.legend(fontsize=8)


def plot_incremental(fig: Figure, data: Mapping[str, Any]) -> None:
    """fct_jobs incremental vs full refresh (dbt's model time)."""
    ax = fig.subplots()
    labels, values = _values(data, ["incremental_s", "full_refresh_s"])
    _bars(ax, [k.removesuffix("_s").replace("_", " ") for k in labels], values)
    ax.set_ylabel("seconds")
    ax.set_title(
        f"fct_jobs at {_num(data.get('jobs_rows'))} jobs: ratio {_num(data.get('ratio'))}"
        " (target ≤ 0.05)"
    )


def plot_load(fig: Figure, data: Mapping[str, Any]) -> None:
    """Definitions load vs a bare Dagster module of the same size."""
    ax = fig.subplots()
    keys = ["definitions_s", "floor_s", "floor_checks_s", "empty_module_s"]
    labels, values = _values(data, keys)
    _bars(ax, [k.removesuffix("_s").replace("_", " ") for k in labels], values)
    if isinstance(data.get("floor_s"), int | float):
        ax.axhline(
            1.5 * data["floor_s"], color="red", linestyle="--", linewidth=1, label="1.5x floor"
        )
        ax.legend(fontsize=8)
    ax.set_ylabel("seconds")
    ax.set_title(
        f"Code location load ({_num(data.get('assets'))} assets): ratio {_num(data.get('ratio'))}"
    )


def plot_latency(fig: Figure, data: Mapping[str, Any]) -> None:
    """Sync-to-mart latency, webhook vs polling, p50 and p95."""
    ax = fig.subplots()
    paths = [p for p in ("webhook", "polling") if f"{p}_p50_s" in data]
    width = 0.35
    for offset, stat in ((-width / 2, "p50"), (width / 2, "p95")):
        xs = [i + offset for i in range(len(paths))]
        values = [float(data.get(f"{p}_{stat}_s") or 0.0) for p in paths]
        bars = ax.bar(xs, values, width, label=stat)
        for bar, value in zip(bars, values, strict=True):
            ax.annotate(
                _num(value), (bar.get_x() + width / 2, value), ha="center", va="bottom", fontsize=8
            )
    ax.set_xticks(range(len(paths)), paths)
    ax.axhline(30, color="orange", linestyle="--", linewidth=1, label="p50 target")
    ax.axhline(60, color="red", linestyle="--", linewidth=1, label="p95 target")
    ax.set_ylabel("seconds, sync end → marts rebuilt")
    ax.set_title(f"Latency over {_num(data.get('syncs'))} syncs per path")
    ax.legend(fontsize=8)


def plot_backfill(fig: Figure, data: Mapping[str, Any]) -> None:
    """A backfill of every partition vs one full refresh."""
    ax = fig.subplots()
    labels, values = _values(data, ["backfill_s", "full_refresh_s"])
    _bars(ax, [k.removesuffix("_s").replace("_", " ") for k in labels], values)
    if isinstance(data.get("full_refresh_s"), int | float):
        ax.axhline(
            1.5 * data["full_refresh_s"],
            color="red",
            linestyle="--",
            linewidth=1,
            label="1.5x full refresh",
        )
        ax.legend(fontsize=8)
    ax.set_ylabel("seconds")
    ax.set_title(
        f"Backfill of {_num(data.get('partitions'))} partitions: ratio {_num(data.get('ratio'))},"
        f" checksums equal: {data.get('checksums_equal')}"
    )


def plot_day(fig: Figure, data: Mapping[str, Any]) -> None:
    """A day in the life: the strategies on builds, warehouse time, latency, freshness."""
    axes = fig.subplots(2, 2)
    colors = [COLORS[s] for s in STRATEGIES]
    labels = [LABELS[s] for s in STRATEGIES]
    _bars(axes[0][0], labels, [float(data.get(f"{s}_builds") or 0) for s in STRATEGIES], colors)
    axes[0][0].set_title("model builds")
    _bars(
        axes[0][1], labels, [float(data.get(f"{s}_warehouse_s") or 0) for s in STRATEGIES], colors
    )
    axes[0][1].set_title("warehouse seconds (sum of dbt node times)")
    ax = axes[1][0]
    width = 0.35
    for offset, stat, alpha in ((-width / 2, "p50", 1.0), (width / 2, "p95", 0.55)):
        xs = [i + offset for i in range(len(STRATEGIES))]
        values = [float(data.get(f"{s}_latency_{stat}_s") or 0.0) for s in STRATEGIES]
        bars = ax.bar(xs, values, width, color=colors, alpha=alpha, label=stat)
        for bar, value in zip(bars, values, strict=True):
            ax.annotate(
                _num(value), (bar.get_x() + width / 2, value), ha="center", va="bottom", fontsize=7
            )
    ax.set_xticks(range(len(STRATEGIES)), labels)
    ax.set_title("sync → marts latency, s (p50, p95 lighter)")
    fresh = [100 * float(data.get(f"{s}_freshness_met") or 0.0) for s in STRATEGIES]
    _bars(axes[1][1], labels, fresh, colors)
    axes[1][1].set_ylim(0, 105)
    axes[1][1].set_title("freshness windows met, %")
    for row in axes:
        for axis in row:
            axis.tick_params(axis="x", labelsize=8)
    fig.suptitle(
        f"A day in the life: {_num(data.get('hours'))} simulated hours, {_num(data.get('syncs'))} syncs"
    )


PLOTS: dict[str, Callable[[Figure, Mapping[str, Any]], None]] = {
    "generate": plot_generate,
    "landing": plot_landing,
    "incremental": plot_incremental,
    "load": plot_load,
    "latency": plot_latency,
    "backfill": plot_backfill,
    "day": plot_day,
}


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
    size = (10, 7) if name == "day" else (7, 4.5)
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
