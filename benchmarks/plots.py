"""The benchmark plots: one function per benchmark, each drawing on its own figure.

:mod:`benchmarks.report` chooses the figure size, adds where and when the benchmark ran, and
saves it; the strategies' colours and labels of the ``day`` figures are shared with its table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

STRATEGIES = (
    "build_all",
    "build_all_coalesced",
    "source_plus",
    "eager",
    "automation",
    "sao",
    "planner",
)
"""Every strategy a ``day`` JSON may hold, in the figures' order (``automation``: the first
wave's name of ``eager``, drawn only from JSON that has no ``eager``)."""
COLORS = {
    "build_all": "#9e9e9e",
    "build_all_coalesced": "#c8c8c8",
    "source_plus": "#f0a030",
    "eager": "#2b7bb9",
    "automation": "#2b7bb9",
    "sao": "#8e5ea2",
    "planner": "#3a9e4f",
}
LABELS = {
    "build_all": "build_all\n(per sync)",
    "build_all_coalesced": "build_all\n(per tick)",
    "source_plus": "source_plus",
    "eager": "eager",
    "automation": "automation",
    "sao": "sao",
    "planner": "planner",
}


def day_strategies(data: Mapping[str, Any]) -> list[str]:
    """The strategies a ``day`` JSON holds, in order (``automation`` only as ``eager``'s stand-in)."""
    present = [s for s in STRATEGIES if f"{s}_builds" in data]
    if "eager" in present and "automation" in present:
        present.remove("automation")
    return present


def num(value: Any) -> str:
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


# ---------------------------------------------------------------------------------------------
# Plots: one function per benchmark, each drawing on its own figure
# ---------------------------------------------------------------------------------------------


def _bars(
    ax: Axes, labels: list[str], values: list[float], colors: list[str] | None = None
) -> None:
    bars = ax.bar(labels, values, color=colors or "#2b7bb9")
    for bar, value in zip(bars, values, strict=True):
        ax.annotate(
            num(value),
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
    ax.set_title(f"Source estate generation ({num(data.get('rows'))} rows)")
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
        f"fct_jobs at {num(data.get('jobs_rows'))} jobs: ratio {num(data.get('ratio'))}"
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
        f"Code location load ({num(data.get('assets'))} assets): ratio {num(data.get('ratio'))}"
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
                num(value), (bar.get_x() + width / 2, value), ha="center", va="bottom", fontsize=8
            )
    ax.set_xticks(range(len(paths)), paths)
    ax.axhline(30, color="orange", linestyle="--", linewidth=1, label="p50 target")
    ax.axhline(60, color="red", linestyle="--", linewidth=1, label="p95 target")
    ax.set_ylabel("seconds, sync end → marts rebuilt")
    ax.set_title(f"Latency over {num(data.get('syncs'))} syncs per path")
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
        f"Backfill of {num(data.get('partitions'))} partitions: ratio {num(data.get('ratio'))},"
        f" checksums equal: {data.get('checksums_equal')}"
    )


def _day_timeline(axes: list[Axes], data: Mapping[str, Any], strategies: list[str]) -> None:
    """Per mart: when syncs landed (top row) and, per strategy, when its builds reflected them.

    Each sync is a line from its landing to its reflection (its lag); ticks are builds; a red
    cross is a sync never reflected. Hours of the simulated day.
    """
    timeline = data.get("timeline") or {}
    for ax, (mart, entry) in zip(axes, timeline.items(), strict=False):
        rows = [s for s in strategies if isinstance(entry.get(s), Mapping)]
        landed = [t / 3600 for t in entry.get("syncs", [])]
        ax.vlines(landed, len(rows) - 0.3, len(rows) + 0.3, "#555555", linewidth=0.8)
        for row, strategy in enumerate(reversed(rows)):
            builds = [t / 3600 for t in entry[strategy].get("builds", [])]
            reflected = entry[strategy].get("reflected", [])
            pairs = [
                (t, r / 3600) for t, r in zip(landed, reflected, strict=False) if r is not None
            ]
            ax.hlines(
                [row] * len(pairs),
                [t for t, _ in pairs],
                [r for _, r in pairs],
                COLORS[strategy],
                linewidth=2,
                alpha=0.35,
            )
            ax.plot(builds, [row] * len(builds), "|", color=COLORS[strategy], markersize=9)
            never = [t for t, r in zip(landed, reflected, strict=False) if r is None]
            ax.plot(never, [row] * len(never), "x", color="red", markersize=5)
        ax.set_yticks(range(len(rows) + 1), [*reversed(rows), "syncs"], fontsize=7)
        warn = entry.get("warn_s")
        window = f" (warn window {num(warn / 60)} min)" if isinstance(warn, int | float) else ""
        ax.set_title(f"{mart}{window}: syncs landed → reflected; ticks are builds", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    if axes:
        axes[-1].set_xlabel("simulated hour of the day", fontsize=8)


def plot_day(fig: Figure, data: Mapping[str, Any]) -> None:
    """A day in the life: builds, warehouse time, latency, windows met; a timeline of 3 marts."""
    strategies = day_strategies(data)
    timeline = data.get("timeline") or {}
    grid = fig.add_gridspec(2 + len(timeline), 2, height_ratios=[3, 3] + [2] * len(timeline))
    axes = [[fig.add_subplot(grid[row, col]) for col in range(2)] for row in range(2)]
    colors = [COLORS[s] for s in strategies]
    labels = [LABELS[s] for s in strategies]
    _bars(axes[0][0], labels, [float(data.get(f"{s}_builds") or 0) for s in strategies], colors)
    axes[0][0].set_title("model builds")
    _bars(
        axes[0][1], labels, [float(data.get(f"{s}_warehouse_s") or 0) for s in strategies], colors
    )
    axes[0][1].set_title("warehouse seconds (sum of dbt node times)")
    ax = axes[1][0]
    width = 0.35
    for offset, stat, alpha in ((-width / 2, "p50", 1.0), (width / 2, "p95", 0.55)):
        xs = [i + offset for i in range(len(strategies))]
        values = [float(data.get(f"{s}_latency_{stat}_s") or 0.0) for s in strategies]
        bars = ax.bar(xs, values, width, color=colors, alpha=alpha, label=stat)
        for bar, value in zip(bars, values, strict=True):
            ax.annotate(
                num(value), (bar.get_x() + width / 2, value), ha="center", va="bottom", fontsize=7
            )
    ax.set_xticks(range(len(strategies)), labels)
    ax.set_title("sync → eager assets latency, s (p50, p95 lighter)")
    met_key = (
        "windows_met" if any(f"{s}_windows_met" in data for s in strategies) else "freshness_met"
    )
    met = [100 * float(data.get(f"{s}_{met_key}") or 0.0) for s in strategies]
    _bars(axes[1][1], labels, met, colors)
    axes[1][1].set_ylim(0, 105)
    axes[1][1].set_title(
        "windows met, % of (sync, asset) pairs"
        if met_key == "windows_met"
        else "freshness windows met, %"
    )
    for row in axes:
        for axis in row:
            axis.tick_params(axis="x", labelsize=8)
    _day_timeline([fig.add_subplot(grid[2 + i, :]) for i in range(len(timeline))], data, strategies)
    fig.suptitle(
        f"A day in the life: {num(data.get('hours'))} simulated hours, {num(data.get('syncs'))} syncs"
    )


def plot_scale(fig: Figure, data: Mapping[str, Any]) -> None:
    """Warehouse seconds of a sync's rebuild and of a full build against the scale, log-log."""
    ax = fig.subplots()
    scales = data.get("scales") or []
    series = {
        "full_build_s": ("full build", "#999999", "s"),
        "sync_rebuild_s": ("Jobs DB sync rebuild", "#2b7bb9", "o"),
        "gps_rebuild_s": ("GPS batch rebuild", "#e07b39", "^"),
    }
    for key, (label, color, marker) in series.items():
        values = data.get(key) or []
        if len(values) == len(scales) and scales:
            ax.plot(scales, values, marker=marker, color=color, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("scale (1.0 = the design's volumes)")
    ax.set_ylabel("warehouse seconds (dbt node times)")
    ax.set_title(
        f"A sync's cost vs the tables: ratio at 1.0 {num(data.get('ratio_at_1'))} (≤ 0.05), "
        f"growth 0.1 → 1.0 {num(data.get('growth_0_1_to_1'))} (≤ 2)",
        fontsize=9,
    )
    ax.legend(fontsize=8)


def plot_up(fig: Figure, data: Mapping[str, Any]) -> None:
    """Each phase's seconds, and the peak resident set of each kind of process."""
    left, right = fig.subplots(1, 2)
    phases = data.get("phases") or {}
    names = [n for n in ("start", "first_syncs", "first_build", "hour") if n in phases]
    left.barh(names, [phases[n].get("seconds") or 0 for n in names], color="#2b7bb9")
    left.invert_yaxis()
    left.set_xlabel("seconds")
    left.set_title(f"phases at scale {num(data.get('scale'))}", fontsize=9)
    roles = data.get("peak_rss_by_role_gib") or {}
    # Helpers of a few MiB (tail, flock, pg_ctl) would only crowd the axis.
    ordered = sorted((r for r in roles if roles[r] >= 0.01), key=lambda r: roles[r])
    right.barh(ordered, [roles[r] for r in ordered], color="#e07b39")
    right.axvline(8, color="#b22222", linestyle="--", linewidth=1, label="8 GiB bound")
    right.set_xlabel("peak resident set (GiB)")
    right.tick_params(axis="y", labelsize=7)
    right.legend(fontsize=7)
    right.set_title(
        # Two lines: one would run past the figure's right edge.
        f"kept up: {data.get('kept_up')}\nworst lag {num(data.get('lag_max_s'))} s"
        f" of {num(data.get('interval_s'))} s",
        fontsize=9,
    )


PLOTS: dict[str, Callable[[Figure, Mapping[str, Any]], None]] = {
    "generate": plot_generate,
    "landing": plot_landing,
    "incremental": plot_incremental,
    "load": plot_load,
    "latency": plot_latency,
    "backfill": plot_backfill,
    "day": plot_day,
    "scale": plot_scale,
    "up": plot_up,
}
