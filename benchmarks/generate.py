"""Benchmark: how fast the source estate comes up (PostgreSQL start + initial history).

Run ``uv run fieldforce bench generate [--scale 0.05] [--seed N] [--keep]``; writes
``<out>/generate.json``.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standins.sources.estate import Estate
from testkit.provenance import RESULTS_DIR, git_sha, machine

SYSTEMS = ("jobs_db", "salesforce", "quickbooks", "servicetitan", "telematics", "sheets")


def run(
    scale: float = 0.05, out_dir: Path = RESULTS_DIR, seed: int = 42, keep: bool = False
) -> dict[str, Any]:
    """Bring a fresh estate up at ``scale`` and report rows and throughput per system.

    The estate lives in ``out_dir/.generate-home`` and is removed afterwards unless ``keep``.

    Returns:
        The flat JSON object also written to ``out_dir/generate.json``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    home = out_dir / ".generate-home"
    shutil.rmtree(home, ignore_errors=True)
    began = time.perf_counter()
    estate = Estate(home, seed=seed, scale=scale)
    estate.start()
    try:
        started = time.perf_counter()
        report = estate.generate()
        generated = time.perf_counter()
    finally:
        estate.stop()
    if not keep:
        shutil.rmtree(home, ignore_errors=True)
    seconds = generated - started
    rows = sum(report.rows.values())
    result: dict[str, Any] = {
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds),
        "estate_up_s": round(generated - began, 3),
        "postgres_start_s": round(started - began, 3),
    }
    for system in SYSTEMS:
        sys_rows = report.system_rows(system)
        sys_seconds = report.seconds.get(system, 0.0)
        result[f"{system}_rows"] = sys_rows
        result[f"{system}_seconds"] = round(sys_seconds, 3)
        result[f"{system}_rows_per_s"] = round(sys_rows / sys_seconds) if sys_seconds else None
    result["saas_indexes_seconds"] = round(report.seconds.get("saas_indexes", 0.0), 3)
    result.update(
        scale=scale,
        seed=seed,
        machine=machine(),
        git_sha=git_sha(),
        finished_at=datetime.now(UTC).isoformat(),
    )
    (out_dir / "generate.json").write_text(json.dumps(result, indent=2) + "\n")
    _print_table(result)
    return result


def _print_table(result: dict[str, Any]) -> None:
    print(f"{'system':<14}{'rows':>14}{'seconds':>10}{'rows/s':>12}")
    for system in SYSTEMS:
        rate = result[f"{system}_rows_per_s"]
        print(
            f"{system:<14}{result[f'{system}_rows']:>14,}{result[f'{system}_seconds']:>10.2f}{rate or 0:>12,}"
        )
    print(
        f"{'total':<14}{result['rows']:>14,}{result['seconds']:>10.2f}{result['rows_per_s']:>12,}"
    )
    print(f"estate up in {result['estate_up_s']:.1f} s at scale {result['scale']}")
