"""The replay: set the day up, tick through it, and account for each strategy.

Syncs land once, in one warehouse; each strategy's schemas start from one whole-project build
(untimed). A sync starts when the previous one of the tick ended (the local Fivetran runs one
sync at a time) and lasts its real duration. The order in which the strategies react rotates
from tick to tick, so none always runs on a warmer or busier machine.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from devstack.environ import environ
from testkit.provenance import RESULTS_DIR, machine

from analytics_platform.transform.invocation import dbt_args
from benchmarks.day.automation import Automation
from benchmarks.day.clock import (
    QUIET_S,
    SENSOR_INTERVAL_S,
    SOURCE_PLUS_DEBOUNCE_S,
    TICK_MIN,
    clock_label,
    due_connectors,
)
from benchmarks.day.dbt import THREADS, Dbt
from benchmarks.day.landing import SEED, TENANTS, Landing
from benchmarks.day.metrics import percentile, summarize
from benchmarks.day.records import Sync
from benchmarks.day.strategies import (
    STRATEGIES,
    BuildAll,
    BuildAllCoalesced,
    SourcePlus,
    Strategy,
)

DEFAULT_SCALE = 0.003
"""Most syncs land rows, and a day of whole-project builds still fits the machine."""
DEFAULT_HOURS = 24.0


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


def _first_builds(home: Path, warehouse: Path) -> dict[str, Dbt]:
    """One parsed dbt per strategy, its schemas built once from scratch (untimed)."""
    dbts: dict[str, Dbt] = {}
    for name in STRATEGIES:
        print(f"  day: {name}: dbt parse, first whole build (untimed) ...", flush=True)
        dbts[name] = Dbt(home / "dbt" / name, warehouse, name)
        first = dbts[name].build(dbt_args("build"))
        if any(status == "error" for _, _, status, _ in first.nodes):
            raise RuntimeError(f"the first whole-project build of {name} failed")
    return dbts


def _strategies(
    dbts: Mapping[str, Dbt],
    defs: dg.Definitions,
    specs: Mapping[dg.AssetKey, dg.AssetSpec],
    day_start: datetime,
) -> list[Strategy]:
    """The strategies in ``STRATEGIES`` order, ``automation`` started on the built warehouse."""
    from analytics_platform.automation import sync_rebuilds

    first = dbts[STRATEGIES[0]]
    keys = first.node_keys()
    names = {key: unique_id.split(".")[-1] for unique_id, key in keys.items()}
    if len(set(names.values())) != len(names):
        raise RuntimeError("dbt node names are not unique: cannot select by name")
    sources, prefixes = first.sources()
    automation = Automation(
        "automation",
        dbts["automation"],
        keys,
        defs=defs,
        instance=dg.DagsterInstance.ephemeral(),
        day_start=day_start,
        names=names,
        partitioned={
            key: spec.partitions_def
            for key, spec in specs.items()
            if spec.partitions_def is not None and key in names
        },
        rebuilds=sync_rebuilds(specs.values()),
    )
    landed = [key for key in specs if key.path[0] == "fivetran"]
    if automation.start([*names, *landed]):
        raise RuntimeError("automation asked for runs on a fully built warehouse")
    built: dict[str, Strategy] = {
        "build_all": BuildAll("build_all", dbts["build_all"], keys),
        "build_all_coalesced": BuildAllCoalesced(
            "build_all_coalesced", dbts["build_all_coalesced"], keys
        ),
        "source_plus": SourcePlus(
            "source_plus", dbts["source_plus"], keys, sources=sources, prefixes=prefixes
        ),
        "automation": automation,
    }
    return [built[name] for name in STRATEGIES]


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
        shift = tick % len(strategies)
        for strategy in strategies[shift:] + strategies[:shift]:
            with _timed(phases, strategy.name):
                strategy.react(tick_syncs)
        syncs += tick_syncs
        if minute % 60 == 0 or tick == ticks:
            status = "  ".join(f"{s.name} {sum(r.builds for r in s.runs)}" for s in strategies)
            print(
                f"  day {clock_label(minute * 60)}  syncs {len(syncs)}  builds: {status}"
                f"  ({time.perf_counter() - began:.0f} s)",
                flush=True,
            )
    return syncs, phases


def run(
    out_dir: Path | str = RESULTS_DIR,
    scale: float = DEFAULT_SCALE,
    hours: float = DEFAULT_HOURS,
    keep: bool = False,
) -> dict[str, Any]:
    """Replay ``hours`` simulated hours under the strategies; the figures (the CLI writes JSON).

    Args:
        out_dir: where the CLI writes ``day.json`` (the replay itself writes nothing there).
        scale: size of the source estate (1.0 = the design's volumes).
        hours: simulated hours to replay (24 = a whole day).
        keep: keep the data directory (sources, warehouses, logs) for inspection.
    """
    from testkit.harness import rebuilt_by

    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    # One line per asset per evaluation otherwise (the tester logs at debug level).
    logging.getLogger("dagster.automation_condition_tester").setLevel(logging.WARNING)
    ticks = round(hours * 60 / TICK_MIN)
    home = Path(tempfile.mkdtemp(prefix="bench-day-", dir="/tmp"))
    home.chmod(0o711)  # PostgreSQL runs as its own account and must traverse it
    landing = Landing(home, scale)
    try:
        print(f"  day: sources at scale {scale}, initial syncs ...", flush=True)
        landing.start()
        dbts = _first_builds(home, landing.warehouse)
        print("  day: loading the code location ...", flush=True)
        defs = load_definitions(landing.env())
        specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
        strategies = _strategies(dbts, defs, specs, landing.estate.clock)
        marts = {key for key, spec in specs.items() if (spec.group_name or "").startswith("marts_")}
        windows = {
            key: spec.freshness_policy.fail_window.to_timedelta().total_seconds()  # type: ignore[union-attr]
            for key, spec in specs.items()
            if key in marts and spec.freshness_policy is not None
        }
        setup_s = time.perf_counter() - began
        print(f"  day: replaying {ticks} ticks of {TICK_MIN} min ...", flush=True)
        syncs, phases = _replay(landing, strategies, ticks, began)
        end_s = (ticks + 1) * TICK_MIN * 60.0
        checks = [tick * TICK_MIN * 60.0 for tick in range(1, ticks + 2)]
        affected = {
            index: {key for key in rebuilt_by(specs, set(sync.changed)) if key in marts}
            for index, sync in enumerate(syncs)
        }
        result: dict[str, Any] = {}
        for strategy in strategies:
            result |= summarize(
                strategy.name, strategy.runs, syncs, affected, windows, checks, end_s
            )
        automation = strategies[-1]
        assert isinstance(automation, Automation)
        result |= {
            "hours": hours,
            "ticks": ticks,
            "tenants": TENANTS,
            "seed": SEED,
            "syncs": len(syncs),
            "syncs_with_changes": sum(bool(s.events) for s in syncs),
            "syncs_affecting_marts": sum(bool(m) for m in affected.values()),
            "build_all_trigger": "once per sync, as it ends (queued while a run is busy)",
            "build_all_coalesced_trigger": "once per tick, after the tick's last sync",
            "source_plus_debounce_s": SOURCE_PLUS_DEBOUNCE_S,
            "automation_quiet_s": QUIET_S,
            "automation_sensor_interval_s": SENSOR_INTERVAL_S,
            "automation_evaluation_p50_s": round(percentile(automation.evaluations, 0.5) or 0.0, 2),
            "marts_with_windows": len(windows),
            "freshness_checks": len(checks) * len(windows),
            "dbt_threads": THREADS,
            "dbt_target": "ci",
            "load_average_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],
            "tests_excluded": True,
            "setup_s": round(setup_s, 1),
            "replay_phases_s": {name: round(seconds, 1) for name, seconds in phases.items()},
            "runtime_s": round(time.perf_counter() - began, 1),
            "scale": scale,
            "machine": machine(),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        automation_builds = result["automation_builds"]
        for baseline in STRATEGIES[:-1]:
            builds = result[f"{baseline}_builds"]
            result[f"automation_vs_{baseline}_builds"] = (
                round(automation_builds / builds, 4) if builds else None
            )
        return result
    finally:
        landing.stop()
        if keep:
            print(f"  day: data kept in {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
