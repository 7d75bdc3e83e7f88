"""Code location load time: the platform's definitions vs a bare Dagster module of the same size.

The target: ``dagster definitions validate`` of the platform takes at most 1.5x as long as of a
bare Dagster definitions module with the same number of assets.

`run(out_dir, scale)`:

1. Environment the code location needs, as ``fieldforce up`` gives it: a source estate at
   ``scale`` (PostgreSQL + files), the local Fivetran serving it (every connector switched to
   manual, so no sync competes with the measurement), a prepared dbt manifest.
2. ``assets``: the asset count of ``analytics_platform.definitions`` (Fivetran tables, dbt
   models/seeds/snapshots, dashboards), loaded once in-process; its asset checks are counted too.
3. ``definitions_s``: ``dagster definitions validate -m analytics_platform.definitions``, wall
   clock, median of ``repeats`` runs. ``floor_s``: the same command on a generated module of
   ``assets`` plain ``@dg.asset`` functions (``floor_checks_s``: plus as many plain asset checks
   as the platform has; ``empty_module_s``: no assets at all, the command's fixed cost;
   ``floor_integrations_s``: the checks floor importing the integration libraries the platform's
   definitions are built with, :data:`INTEGRATIONS`, and doing nothing with them). Runs
   alternate between the variants so that machine load hits them alike.
4. What bounds the ratio (``profile_*``): in one fresh interpreter, the import of dagster alone,
   the integration libraries, the platform module (which builds the definitions at import), and
   a second, warm ``build_defs()`` with its most expensive calls (cProfile, cumulative).

``ratio`` = definitions_s / floor_s. ``integrations_ratio`` = floor_integrations_s / floor_s is
the part of the ratio no code of ours can defer: ``dagster_dbt`` imports dbt-core (its adapters,
agate, mashumaro, networkx) and sqlglot at import, whether or not a dbt command ever runs, and
``@dbt_assets`` needs it. ``ratio_vs_floor_with_integrations`` = definitions_s /
floor_integrations_s is what remains ours. Writes ``out_dir/load.json``.
Run: ``uv run fieldforce bench load [--repeats N]``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from testkit.builder import EstateSources, FivetranOptions, Stack, build_stack
from testkit.provenance import git_sha, machine

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
API_KEY, API_SECRET = "bench-key", "bench-secret"
MODULE = "analytics_platform.definitions"
INTEGRATIONS = ("dagster_dbt", "dagster_fivetran", "dagster_duckdb", "dagster_slack")
"""The libraries whose classes the platform's definitions are built from (``@dbt_assets``, the
Fivetran workspace, the warehouse and Slack resources): a definitions module that uses them
cannot load faster than their import."""

PROFILE_SCRIPT = r"""
import cProfile, io, json, pstats, sys, time, warnings
warnings.simplefilter("ignore")
t0 = time.perf_counter()
import dagster
t1 = time.perf_counter()
import dagster_dbt, dagster_fivetran, dagster_slack, duckdb
t2 = time.perf_counter()
import analytics_platform.definitions as module
t3 = time.perf_counter()
profile = cProfile.Profile()
profile.enable()
t4 = time.perf_counter()
defs = module.build_defs()
t5 = time.perf_counter()
profile.disable()
specs = list(defs.resolve_all_asset_specs())
checks = list(defs.resolve_asset_graph().asset_check_keys)
stats = pstats.Stats(profile)
wanted = {
    "load_fivetran_asset_specs": "fivetran_api_specs_s",
    "sigma_dashboard_specs": "sigma_specs_s",
    "map_resolved_asset_specs": "map_asset_specs_s",
    "resolve_all_asset_specs": "resolve_asset_specs_s",
    "build_alert_defs": "alert_defs_s",
    "_automation_sensors": "automation_sensors_s",
    "merge": "definitions_merge_s",
}
found = {}
for (filename, _line, name), row in stats.stats.items():
    key = wanted.get(name)
    if key and (name != "merge" or "definitions" in filename):
        found[key] = max(found.get(key, 0.0), row[3])
print(json.dumps({
    "import_dagster_s": t1 - t0,
    "import_integrations_s": t2 - t1,
    "import_platform_module_s": t3 - t2,
    "build_defs_warm_s": t5 - t4,
    "assets": len(specs),
    "asset_checks": len(checks),
    "profiled": found,
}))
"""


def floor_module(assets: int, checks: int = 0, imports: tuple[str, ...] = ()) -> str:
    """Source of a bare definitions module: ``assets`` plain assets, ``checks`` plain checks.

    Written out as separate decorated functions (no loop), as a hand-written module would be,
    so that the floor pays the same per-asset decorator and definition costs and nothing else.
    ``imports`` are modules imported and left unused (the integration libraries' import cost).
    """
    if checks and not assets:
        raise ValueError("asset checks need assets to check")
    lines = ['"""A bare Dagster code location: the load-time floor."""', "", "import dagster as dg"]
    lines += [f"import {module}  # noqa: F401" for module in imports]
    for i in range(assets):
        lines += ["", "", "@dg.asset", f"def asset_{i:05d}() -> None:", "    return None"]
    for i in range(checks):
        lines += [
            "",
            "",
            f"@dg.asset_check(asset=asset_{i % assets:05d}, name='check_{i:05d}')",
            f"def check_{i:05d}() -> dg.AssetCheckResult:",
            "    return dg.AssetCheckResult(passed=True)",
        ]
    asset_list = ", ".join(f"asset_{i:05d}" for i in range(assets))
    check_list = ", ".join(f"check_{i:05d}" for i in range(checks))
    lines += ["", "", f"defs = dg.Definitions(assets=[{asset_list}], asset_checks=[{check_list}])"]
    return "\n".join(lines) + "\n"


def _validate(args: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one ``dagster definitions validate`` (fails loudly if invalid)."""
    started = time.perf_counter()
    result = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"validate {args} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return seconds


def _platform_env(home: Path, port: int, dagster_home: Path) -> dict[str, str]:
    """What the code location reads (as ``LocalPlatform.env``), on loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "FIELDFORCE_"))}
    return env | {
        "ENVIRONMENT": "local",
        "FIVETRAN_MODE": "webhook",
        "FIELDFORCE_HOME": str(home),
        "FIELDFORCE_WAREHOUSE_PATH": str(home / "warehouse.duckdb"),
        "FIVETRAN_API_BASE_URL": f"http://127.0.0.1:{port}/v1",
        "FIVETRAN_API_KEY": API_KEY,
        "FIVETRAN_API_SECRET": API_SECRET,
        "FIVETRAN_WEBHOOK_SECRET": "bench-webhook-secret",
        "SLACK_API_BASE_URL": "http://127.0.0.1:9/api/",
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "PAGERDUTY_EVENTS_URL": "http://127.0.0.1:9/v2/enqueue",
        "PAGERDUTY_ROUTING_KEY": "bench",
        "DAGSTER_HOME": str(dagster_home),
        "TMPDIR": str(dagster_home),
        "PYTHONPATH": str(REPO),
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }


def _profile(env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", PROFILE_SCRIPT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"profiling the load failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(out_dir: Path, scale: float = 0.0003, repeats: int = 5) -> dict[str, Any]:
    """Measure and write ``out_dir/load.json``; ``scale`` sizes the source estate behind the API.

    The load reads only the Fivetran API's configuration (connectors, schemas, tables), never
    the data, so the default is the smallest estate; a larger one changes nothing measured.
    """
    if repeats < 3:
        raise ValueError("a median needs at least 3 runs")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="bench-load-", dir="/tmp"))
    home.chmod(0o711)  # the PostgreSQL server account must traverse it when we are root
    stack: Stack | None = None
    try:
        # Every connector manual: no sync may run while load times are measured.
        stack = build_stack(
            home,
            EstateSources(home=home, scale=scale, tenants=2),
            fivetran=FivetranOptions(api_key=API_KEY, api_secret=API_SECRET),
            warehouse=home / "warehouse.duckdb",
            first_sync="none",
            manual_schedules=True,
        )
        stack.wait_idle(timeout=300)
        connectors = len(stack.connector_ids())
        port = stack.port
        dagster_home = home / "dagster"
        dagster_home.mkdir()
        env = _platform_env(home, port, dagster_home)
        # `dbt parse` as `fieldforce up` does: definitions load from a prepared manifest.
        from analytics_platform.transform.project import prepare_manifest

        prepare_manifest(env=env)
        profile = _profile(env)
        assets, checks = profile["assets"], profile["asset_checks"]
        floor_dir = home / "floor"
        floor_dir.mkdir()
        (floor_dir / "floor_assets.py").write_text(floor_module(assets))
        (floor_dir / "floor_checks.py").write_text(floor_module(assets, checks))
        (floor_dir / "floor_empty.py").write_text(floor_module(0))
        (floor_dir / "floor_integrations.py").write_text(
            floor_module(assets, checks, imports=INTEGRATIONS)
        )

        # One untimed round warms the OS file cache for every variant alike.
        _validate(["-m", MODULE], env)
        _validate(["-f", str(floor_dir / "floor_assets.py")], env)
        real, floor, floor_checks, empty, integrations = [], [], [], [], []
        for _ in range(repeats):
            real.append(_validate(["-m", MODULE], env))
            floor.append(_validate(["-f", str(floor_dir / "floor_assets.py")], env))
            floor_checks.append(_validate(["-f", str(floor_dir / "floor_checks.py")], env))
            empty.append(_validate(["-f", str(floor_dir / "floor_empty.py")], env))
            integrations.append(_validate(["-f", str(floor_dir / "floor_integrations.py")], env))
    finally:
        if stack is not None:
            stack.close()
        shutil.rmtree(home, ignore_errors=True)

    definitions_s, floor_s = statistics.median(real), statistics.median(floor)
    integrations_s = statistics.median(integrations)
    profiled = profile.pop("profiled")
    result: dict[str, Any] = {
        "assets": assets,
        "definitions_s": round(definitions_s, 2),
        "floor_s": round(floor_s, 2),
        "ratio": round(definitions_s / floor_s, 2),
        "asset_checks": checks,
        "floor_checks_s": round(statistics.median(floor_checks), 2),
        "ratio_vs_floor_with_checks": round(definitions_s / statistics.median(floor_checks), 2),
        "empty_module_s": round(statistics.median(empty), 2),
        "floor_integrations_s": round(integrations_s, 2),
        "integrations_ratio": round(integrations_s / floor_s, 2),
        "ratio_vs_floor_with_integrations": round(definitions_s / integrations_s, 2),
        "integrations": list(INTEGRATIONS),
        "definitions_runs_s": [round(s, 2) for s in real],
        "floor_runs_s": [round(s, 2) for s in floor],
        "floor_checks_runs_s": [round(s, 2) for s in floor_checks],
        "floor_integrations_runs_s": [round(s, 2) for s in integrations],
        "repeats": repeats,
        "connectors": connectors,
        "profile_import_dagster_s": round(profile["import_dagster_s"], 2),
        "profile_import_integrations_s": round(profile["import_integrations_s"], 2),
        "profile_import_platform_module_s": round(profile["import_platform_module_s"], 2),
        "profile_build_defs_warm_s": round(profile["build_defs_warm_s"], 2),
        **{f"profile_{key}": round(value, 2) for key, value in sorted(profiled.items())},
        "scale": scale,
        "machine": machine(),
        "git_sha": git_sha(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (out_dir / "load.json").write_text(json.dumps(result, indent=2) + "\n")
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    return result
