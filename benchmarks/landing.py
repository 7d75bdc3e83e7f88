"""Landing throughput of the local Fivetran: an append-only GPS day and a large initial sync.

`run(scale, out_dir)` measures, through the sync engine the service runs (no HTTP in the
timed path):

* GPS: one day of telematics at the design's volume (50 M events x scale, or `gps_events`) written as
  hourly Parquet batches, then appended by one sync of `telematics_gps`. Reported as `rows`,
  `seconds`, `rows_per_s`.
* Initial sync: every Jobs DB table of one tenant filled with `initial_rows_per_table` rows in a
  private PostgreSQL, then the connector's first (historical) sync. Reported as `initial_*`.

Writes `out_dir/landing.json` and prints a table. Run:
`uv run fieldforce bench landing [--scale S] [--gps-events N] [--initial-rows-per-table N]`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standins.fivetran import minisource
from standins.fivetran.config import SourceSettings
from standins.fivetran.service import FivetranService, SyncRequest
from standins.sources import catalog
from standins.sources.postgres import PostgresCluster
from testkit.provenance import RESULTS_DIR, git_sha, machine

from analytics_platform.ingest.connectors.cli import run as connector_config

DESIGN_GPS_EVENTS_PER_DAY = 50_000_000
DESIGN_JOBS_DB_ROWS = 10_000_000


def _apply_desired_config(service: FivetranService) -> None:
    """Hash and exclude as production does: the repository's ``fivetran.yaml``, applied in process."""
    from fastapi.testclient import TestClient
    from standins.fivetran.api import build_app

    key, secret = "bench-key", "bench-secret"
    with TestClient(build_app(service, key, secret), base_url="http://local/v1/") as client:
        client.auth = (key, secret)
        status = connector_config("apply", client, secrets=(key, secret), echo=lambda _: None)
    if status != 0:
        raise RuntimeError("fivetran.yaml did not apply to the benchmark's local Fivetran")


def _sync(service: FivetranService, connector_id: str) -> dict[str, Any]:
    entry = service.run_sync(SyncRequest(connector_id, reason="benchmark"))
    if entry["status"] != "SUCCESSFUL":
        raise RuntimeError(f"{connector_id} sync failed: {entry['message']}")
    return entry


def run(
    scale: float = 1.0,
    out_dir: Path = RESULTS_DIR,
    gps_events: int | None = None,
    initial_rows_per_table: int | None = None,
    work_dir: Path | None = None,
) -> dict[str, Any]:
    """Run both measurements and write `out_dir/landing.json`.

    Args:
        scale: fraction of the design's volumes (1.0 = 50 M GPS events, 10 M Jobs DB rows).
        out_dir: where landing.json goes.
        gps_events: override the GPS event count (quick runs).
        initial_rows_per_table: override the rows per Jobs DB table for the initial sync.
        work_dir: scratch space (default: a temp dir, removed afterwards).
    """
    events = gps_events or max(int(DESIGN_GPS_EVENTS_PER_DAY * scale), 24)
    per_table = initial_rows_per_table or max(int(DESIGN_JOBS_DB_ROWS * scale / 5), 100)
    scratch = Path(work_dir or tempfile.mkdtemp(prefix="landing-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    scratch.chmod(0o711)  # the PostgreSQL server account must traverse it when we are root
    cluster = PostgresCluster(scratch / "pg")
    try:
        tel = scratch / "telematics"
        per_batch = -(-events // 24)
        written = 0
        gen_start = time.perf_counter()
        for hour in range(24):
            n = min(per_batch, events - written)
            if n <= 0:
                break
            minisource.write_gps_batch(tel, hour + 1, n)
            written += n
        gen_s = time.perf_counter() - gen_start

        cluster.start()
        cluster.create_database("jobs_bench")
        dsn = cluster.dsn("jobs_bench")
        minisource.create_tables(dsn, catalog.JOBS_DB)
        for table in catalog.JOBS_DB.tables:
            minisource.fill_table(dsn, catalog.JOBS_DB, table, per_table, base=catalog.ID_OFFSET)

        sources = SourceSettings(jobs_db_dsns={"bench": dsn}, telematics_dir=tel)
        service = FivetranService(
            scratch / "fivetran", sources, scratch / "warehouse.duckdb", autostart=False
        )
        _apply_desired_config(service)
        gps = _sync(service, "telematics_gps")
        initial = _sync(service, "postgres_jobs_bench")
    finally:
        cluster.stop()
        if work_dir is None:
            shutil.rmtree(scratch, ignore_errors=True)

    result = {
        "rows": gps["rows_inserted"],
        "seconds": gps["duration_s"],
        "rows_per_s": round(gps["rows_inserted"] / gps["duration_s"]),
        "initial_rows": initial["rows_inserted"],
        "initial_seconds": initial["duration_s"],
        "initial_rows_per_s": round(initial["rows_inserted"] / initial["duration_s"]),
        "gps_batches": min(24, events),
        "gps_generate_seconds": round(gen_s, 2),
        "scale": scale,
        "machine": machine(),
        "git_sha": git_sha(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "landing.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'measure':<28}{'rows':>14}{'seconds':>10}{'rows/s':>14}")
    print(
        f"{'GPS append (1 day)':<28}{result['rows']:>14,}{result['seconds']:>10.2f}{result['rows_per_s']:>14,}"
    )
    print(
        f"{'Jobs DB initial sync':<28}{result['initial_rows']:>14,}"
        f"{result['initial_seconds']:>10.2f}{result['initial_rows_per_s']:>14,}"
    )
    return result
