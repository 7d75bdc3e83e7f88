"""The replay: set the day up, tick through it, and account for each strategy.

Syncs land once, in one warehouse; each strategy's schemas start from one whole-project build
(untimed). A sync starts when the previous one of the tick ended (the local Fivetran runs one
sync at a time) and lasts its real duration. The order in which the strategies react rotates
from tick to tick, so none always runs on a warmer or busier machine.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from devstack.environ import environ
from testkit.provenance import RESULTS_DIR, machine

from analytics_platform.automation.policy import format_policy
from analytics_platform.transform.invocation import dbt_args
from benchmarks.day.clock import (
    QUIET_S,
    SENSOR_INTERVAL_S,
    SOURCE_PLUS_DEBOUNCE_S,
    TICK_MIN,
    clock_label,
    due_connectors,
)
from benchmarks.day.dbt import THREADS, Dbt
from benchmarks.day.eager import Eager
from benchmarks.day.landing import SEED, TENANTS, Landing
from benchmarks.day.lineage import DataTimes, Lineage
from benchmarks.day.metrics import summarize, timeline
from benchmarks.day.planned import Planner
from benchmarks.day.records import Sync
from benchmarks.day.sao import Sao, SaoCore, scheduled_day, search_build_after
from benchmarks.day.strategies import (
    ALL_STRATEGIES,
    STRATEGIES,
    BuildAll,
    BuildAllCoalesced,
    SourcePlus,
    Strategy,
)

DEFAULT_SCALE = 0.01
"""The issue's floor: most syncs land rows, and a day of whole-project builds fits the machine."""
DEFAULT_HOURS = 24.0
SEARCH_TICKS = round(24 * 60 / TICK_MIN)
"""``sao``'s ``build_after`` search runs over a whole scheduled day."""


def load_definitions(env: Mapping[str, str]) -> dg.Definitions:
    """The code location's definitions, built in this process against ``env``."""
    fresh = "analytics_platform.definitions" not in sys.modules
    with environ(env), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = importlib.import_module("analytics_platform.definitions")
        # A first import has just built them with this environment; otherwise build again.
        return module.defs if fresh else module.build_defs()


@contextlib.contextmanager
def _timed(phases: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        phases[name] = phases.get(name, 0.0) + time.perf_counter() - started


def _first_builds(home: Path, warehouse: Path, names: Sequence[str]) -> dict[str, Dbt]:
    """One parsed dbt per strategy, its schemas built once from scratch (untimed)."""
    dbts: dict[str, Dbt] = {}
    for name in names:
        print(f"  day: {name}: dbt parse, first whole build (untimed) ...", flush=True)
        dbts[name] = Dbt(home / "dbt" / name, warehouse, name)
        first = dbts[name].build(dbt_args("build"))
        if any(status == "error" for _, _, status, _ in first.nodes):
            raise RuntimeError(f"the first whole-project build of {name} failed")
        dbts[name].first = first
    return dbts


def connector_tables(landing: Landing) -> dict[str, list[dg.AssetKey]]:
    """Each connector's landed tables, as asset keys (``fivetran/<schema>/<table>``)."""
    return {
        cid: [dg.AssetKey(["fivetran", schema, table]) for schema, table in tables]
        for cid, tables in landing.tables.items()
    }


def _strategies(
    chosen: Sequence[str],
    dbts: Mapping[str, Dbt],
    lineage: Lineage,
    landing: Landing,
) -> tuple[list[Strategy], dict[str, Any]]:
    """The chosen strategies in ``ALL_STRATEGIES`` order, and what setting them up decided."""
    first = dbts[chosen[0]]
    keys = first.node_keys()
    names = {key: unique_id.split(".")[-1] for unique_id, key in keys.items()}
    if len(set(names.values())) != len(names):
        raise RuntimeError("dbt node names are not unique: cannot select by name")
    missing = set(lineage.order) - set(names)
    if missing:
        raise RuntimeError(f"planned assets that are no dbt node: {sorted(map(str, missing))}")
    sources, prefixes = first.sources()
    tables_of = connector_tables(landing)
    info: dict[str, Any] = {}
    factories: dict[str, Callable[[str], Strategy]] = {
        "build_all": lambda n: BuildAll(n, dbts[n], keys),
        "build_all_coalesced": lambda n: BuildAllCoalesced(n, dbts[n], keys),
        "source_plus": lambda n: SourcePlus(n, dbts[n], keys, sources=sources, prefixes=prefixes),
        "eager": lambda n: Eager(n, dbts[n], keys, names=names, lineage=lineage),
        "planner": lambda n: Planner(
            n,
            dbts[n],
            keys,
            names=names,
            lineage=lineage,
            frequencies=landing.frequencies(),
            tables_of=tables_of,
        ),
    }

    def sao(name: str) -> Strategy:
        recorded = dbts[name].first
        node_s = {
            keys[uid]: seconds
            for uid, _, _, seconds in (recorded.nodes if recorded else ())
            if uid in keys
        }
        print("  day: sao: searching build_after per model over the scheduled day ...", flush=True)
        started = time.perf_counter()
        # Tuned on a whole scheduled day whatever ``hours`` is, and followed until the last
        # sync's window has passed, so every pair is decided (a short day would otherwise
        # leave the late ones out and choose values no whole day could keep).
        day = scheduled_day(landing.frequencies(), tables_of, SEARCH_TICKS)
        horizon = (SEARCH_TICKS + 1) * TICK_MIN * 60.0 + max(lineage.warn_s.values(), default=0.0)
        values, simulated = search_build_after(lineage, day, node_s, horizon)
        info["sao_build_after_s"] = {key.path[-1]: value for key, value in values.items()}
        info["sao_simulated_builds_per_scheduled_day"] = simulated
        info["sao_search_s"] = round(time.perf_counter() - started, 1)
        return Sao(
            name, dbts[name], keys, names=names, core=SaoCore(lineage, values, DataTimes(lineage))
        )

    factories["sao"] = sao
    return [factories[name](name) for name in ALL_STRATEGIES if name in chosen], info


def _replay(
    landing: Landing, strategies: list[Strategy], ticks: int, began: float
) -> tuple[list[Sync], dict[str, float]]:
    """Tick through the day: advance the estate, sync what is due, let every strategy react."""
    frequencies = landing.frequencies()
    schemas = {cid: c["schema"] for cid, c in landing.connectors.items()}
    syncs: list[Sync] = []
    phases: dict[str, float] = dict.fromkeys(("advance", "sync", "observe"), 0.0)
    for tick in range(1, ticks + 1):
        minute = tick * TICK_MIN
        with _timed(phases, "advance"):
            landing.estate.advance(TICK_MIN)
        at = tick * TICK_MIN * 60.0
        tick_syncs: list[Sync] = []
        for connector_id in due_connectors(frequencies, minute):
            with _timed(phases, "sync"):
                entry = landing.sync(connector_id)
            end = at + float(entry["duration_s"])
            with _timed(phases, "observe"):
                events = landing.observe(connector_id)
            tick_syncs.append(Sync(connector_id, schemas[connector_id], at, end, events))
            at = end
        # Time-driven strategies (sao, planner) decide up to the next tick, when syncs land again.
        until = (tick + 1) * TICK_MIN * 60.0
        shift = tick % len(strategies)
        for strategy in strategies[shift:] + strategies[:shift]:
            with _timed(phases, strategy.name):
                strategy.react(tick_syncs, until)
        syncs += tick_syncs
        if minute % 60 == 0 or tick == ticks:
            status = "  ".join(f"{s.name} {sum(r.builds for r in s.runs)}" for s in strategies)
            print(
                f"  day {clock_label(minute * 60)}  syncs {len(syncs)}  builds: {status}"
                f"  ({time.perf_counter() - began:.0f} s)",
                flush=True,
            )
    return syncs, phases


def _ratio(numerator: Any, denominator: Any) -> float | None:
    if not isinstance(numerator, int | float) or not isinstance(denominator, int | float):
        return None
    return round(numerator / denominator, 4) if denominator else None


def targets(result: Mapping[str, Any]) -> dict[str, bool | None]:
    """The planner's targets against the JSON's figures (None: a figure is missing)."""
    get = result.get

    def check(ok: Callable[[], bool], *needed: str) -> bool | None:
        return ok() if all(isinstance(get(k), int | float) for k in needed) else None

    return {
        "planner_windows_met_100": check(
            lambda: get("planner_windows_met") == 1.0, "planner_windows_met"
        ),
        "planner_builds_le_half_eager": check(
            lambda: get("planner_builds") <= 0.5 * get("eager_builds"),
            "planner_builds",
            "eager_builds",
        ),
        "planner_builds_le_sao": check(
            lambda: get("planner_builds") <= get("sao_builds"), "planner_builds", "sao_builds"
        ),
        "planner_warehouse_le_half_eager": check(
            lambda: get("planner_warehouse_s") <= 0.5 * get("eager_warehouse_s"),
            "planner_warehouse_s",
            "eager_warehouse_s",
        ),
        "planner_latency_le_eager": check(
            lambda: (
                get("planner_latency_p50_s") <= get("eager_latency_p50_s")
                and get("planner_latency_p95_s") <= get("eager_latency_p95_s")
            ),
            "planner_latency_p50_s",
            "eager_latency_p50_s",
            "planner_latency_p95_s",
            "eager_latency_p95_s",
        ),
    }


TIMELINE_MARTS = ("fct_jobs", "fct_revenue", "dim_customers")
"""The three marts the plot's timeline follows: an eager one and two freshness ones."""


def run(
    out_dir: Path | str = RESULTS_DIR,
    scale: float = DEFAULT_SCALE,
    hours: float = DEFAULT_HOURS,
    keep: bool = False,
    strategies: tuple[str, ...] = STRATEGIES,
) -> dict[str, Any]:
    """Replay ``hours`` simulated hours under the strategies; the figures (the CLI writes JSON).

    Args:
        out_dir: where the CLI writes ``day.json`` (the replay itself writes nothing there).
        scale: size of the source estate (1.0 = the design's volumes).
        hours: simulated hours to replay (24 = a whole day).
        keep: keep the data directory (sources, warehouses, logs) for inspection.
        strategies: which strategies to run (``build_all_coalesced`` is not run by default).
    """
    unknown = set(strategies) - set(ALL_STRATEGIES)
    if unknown or not strategies:
        raise ValueError(f"unknown strategies {sorted(unknown)}; choose from {ALL_STRATEGIES}")
    chosen = [name for name in ALL_STRATEGIES if name in strategies]
    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    ticks = round(hours * 60 / TICK_MIN)
    home = Path(tempfile.mkdtemp(prefix="bench-day-", dir="/tmp"))
    home.chmod(0o711)  # PostgreSQL runs as its own account and must traverse it
    landing = Landing(home, scale)
    try:
        print(f"  day: sources at scale {scale}, initial syncs ...", flush=True)
        landing.start()
        # The code location first: it fails fast, before the long first builds.
        print("  day: loading the code location ...", flush=True)
        defs = load_definitions(landing.env())
        lineage = Lineage.from_specs(defs.resolve_all_asset_specs())
        dbts = _first_builds(home, landing.warehouse, chosen)
        built, info = _strategies(chosen, dbts, lineage, landing)
        setup_s = time.perf_counter() - began
        print(f"  day: replaying {ticks} ticks of {TICK_MIN} min ...", flush=True)
        syncs, phases = _replay(landing, built, ticks, began)
        end_s = (ticks + 1) * TICK_MIN * 60.0
        checks = [tick * TICK_MIN * 60.0 for tick in range(1, ticks + 2)]
        result: dict[str, Any] = {}
        for strategy in built:
            result |= summarize(strategy.name, strategy.runs, syncs, lineage, checks, end_s)
        # The first wave's figures were published as ``automation_*``: the same strategy.
        result |= {
            f"automation_{key.removeprefix('eager_')}": value
            for key, value in list(result.items())
            if key.startswith("eager_")
        }
        planner = next((s for s in built if isinstance(s, Planner)), None)
        marts = [key for key in lineage.order if key.path[-1] in TIMELINE_MARTS]
        result |= info | {
            "planner_vs_eager_builds": _ratio(
                result.get("planner_builds"), result.get("eager_builds")
            ),
            "planner_vs_eager_warehouse_s": _ratio(
                result.get("planner_warehouse_s"), result.get("eager_warehouse_s")
            ),
            "planner_vs_sao_builds": _ratio(result.get("planner_builds"), result.get("sao_builds")),
            "planner_tick_s": planner.tick_s if planner else None,
            "planner_margin_s": planner.margin_s if planner else None,
            "planner_plans": planner.plans if planner else None,
            "strategies": chosen,
            "hours": hours,
            "ticks": ticks,
            "tenants": TENANTS,
            "seed": SEED,
            "syncs": len(syncs),
            "syncs_with_changes": sum(bool(s.events) for s in syncs),
            "policies": {
                key.path[-1]: format_policy(policy) for key, policy in lineage.policies.items()
            },
            "windows_s": {key.path[-1]: window for key, window in lineage.warn_s.items()},
            "cron_assets": "left out of eager, sao and planner (their schedule is the same for all)",
            "build_all_trigger": "once per sync, as it ends (queued while a run is busy)",
            "build_all_coalesced_trigger": "once per tick, after the tick's last sync",
            "source_plus_debounce_s": SOURCE_PLUS_DEBOUNCE_S,
            "receiver_quiet_s": QUIET_S,
            "sensor_interval_s": SENSOR_INTERVAL_S,
            "dbt_threads": THREADS,
            "dbt_target": "ci",
            "load_average_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],
            "tests_excluded": True,
            "setup_s": round(setup_s, 1),
            "replay_phases_s": {name: round(seconds, 1) for name, seconds in phases.items()},
            "timeline": timeline(marts, syncs, lineage, {s.name: s.runs for s in built}),
        }
        result["targets"] = targets(result)
        result |= {
            "runtime_s": round(time.perf_counter() - began, 1),
            "scale": scale,
            "machine": machine(),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return result
    finally:
        landing.stop()
        if keep:
            print(f"  day: data kept in {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
