"""dbt incremental vs full refresh of ``fct_jobs`` on the local (DuckDB) warehouse.

`run(scale, out_dir)` measures dbt + warehouse work only, not syncing: raw landing tables
(docs/CONTRACTS.md) are synthesized directly in DuckDB with SQL ``range()``:

1. ``jobs_rows`` = 10 M x scale jobs over one year in two tenants (customers, technicians,
   service types alongside; line items and the SaaS sources empty), then
   ``dbt run --select +fct_jobs`` builds staging, ``int_jobs_enriched`` and ``fct_jobs``.
2. ``full_refresh_s``: ``dbt run --select fct_jobs --full-refresh``.
3. A sync lands: 0.1 % of jobs updated, 0.1 % new, 0.01 % hard-deleted (``_fivetran_deleted``),
   all with a newer ``_fivetran_synced``; ``int_jobs_enriched`` is rebuilt (untimed, reported
   as ``int_jobs_enriched_s``), then ``incremental_s``: ``dbt run --select fct_jobs`` (merge of
   the rows synced in the 3-day lookback, plus the hard-delete post-hook).
   Times are dbt's own model execution times (run_results.json), without dbt's start-up;
   wall-clock times are reported as ``*_wall_s``. ``ratio`` = incremental / full refresh.
4. ``project_build_s``: a whole-project ``dbt build`` (seeds, models, snapshots, all tests)
   on a demo-scale warehouse (scale 0.001: 10 k jobs, invoices for every completed job).

Writes ``out_dir/incremental.json`` and prints a table.
Run: ``uv run fieldforce bench incremental [--scale 1.0] [--out benchmarks/results]``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from testkit.provenance import RESULTS_DIR, git_sha, machine

from analytics_platform.settings import DBT_PROJECT_DIR
from analytics_platform.transform.invocation import run_dbt
from tests.integration.dbt.raw_fixture import all_tables, table_columns

DESIGN_JOBS = 10_000_000
DEMO_SCALE = 0.001
TENANTS = ("bu_north", "bu_south")
ID_OFFSET = 100_000_000
MINUTES_PER_YEAR = 365 * 24 * 60


def synthesize(path: Path, jobs_rows: int, invoices: bool) -> None:
    """Create every raw table of the landing contract; fill the Jobs DB (and invoices)."""
    per_tenant = jobs_rows // len(TENANTS)
    customers = max(100, per_tenant // 20)
    technicians = max(10, per_tenant // 2000)
    with duckdb.connect(str(path)) as conn:
        for schema, table in all_tables(TENANTS):
            columns = ", ".join(f"{name} {kind}" for name, kind in table_columns(schema, table))
            conn.execute(f"create schema if not exists {schema}")
            conn.execute(f'create or replace table {schema}."{table}" ({columns})')
        for index, tenant in enumerate(TENANTS, start=1):
            schema, base = f"fivetran_postgres_{tenant}", index * ID_OFFSET
            conn.execute(f"""
                insert into {schema}.service_types
                select i, 'service ' || i, ['HVAC', 'Plumbing', 'Electrical'][1 + i % 3], 10000 + i * 100, 60,
                    true, timestamp '2024-01-01', timestamp '2024-01-01', timestamp '2024-01-01', false
                from range(1, 19) as t(i)""")
            conn.execute(f"""
                insert into {schema}.customers
                select {base} + i, 'first', 'last', md5(i::varchar), md5(i::varchar), md5(i::varchar),
                    'city', 'NY', '10001', 1 + i % 8, 'America/New_York', 'residential', null, null,
                    timestamp '2024-01-01', timestamp '2024-01-01', timestamp '2024-01-02', false
                from range(1, {customers + 1}) as t(i)""")
            conn.execute(f"""
                insert into {schema}.technicians
                select {base} + i, 'first', 'last', md5(i::varchar), md5(i::varchar), 1 + i % 8,
                    'America/New_York', 'journeyman', date '2023-01-01', time '08:00', time '16:00', true,
                    timestamp '2024-01-01', timestamp '2024-01-01', timestamp '2024-01-02', false
                from range(1, {technicians + 1}) as t(i)""")
            conn.execute(f"""
                insert into {schema}.jobs
                select
                    {base} + i,
                    {base} + 1 + i % {customers},
                    {base} + 1 + i % {technicians},
                    1 + i % 18,
                    1 + i % 8,
                    case when i % 10 < 7 then 'completed' when i % 10 = 7 then 'cancelled'
                        when i % 10 = 8 then 'scheduled' else 'rescheduled' end,
                    'medium',
                    scheduled,
                    case when i % 10 < 7 then scheduled + interval 10 minute end,
                    case when i % 10 < 7 then scheduled + interval 2 hour end,
                    case when i % 10 = 7 then scheduled end,
                    10000 + (i * 7919) % 90000,
                    null,
                    scheduled - interval 1 day,
                    scheduled + interval 2 hour,
                    scheduled + interval 3 hour,
                    false
                from (
                    select i, timestamp '2024-01-01' + to_minutes((i * {MINUTES_PER_YEAR} // {per_tenant})::bigint)
                        as scheduled
                    from range(1, {per_tenant + 1}) as t(i)
                )""")
        if invoices:
            conn.execute("""
                insert into fivetran_quickbooks.invoice
                select job_id + 5000000000, 'INV', customer_id, job_id, 'bu', completed_at::date,
                    completed_at::date + 30, total_amount_cents / 100, 0, 'paid', 'USD', completed_at,
                    completed_at, _fivetran_synced, false
                from (
                    select * from fivetran_postgres_bu_north.jobs
                    union all
                    select * from fivetran_postgres_bu_south.jobs
                )
                where status = 'completed'""")


def land_a_sync(path: Path) -> None:
    """0.1 % of jobs updated, 0.1 % new, 0.01 % hard-deleted; synced after everything else."""
    with duckdb.connect(str(path)) as conn:
        for tenant in TENANTS:
            table = f"fivetran_postgres_{tenant}.jobs"
            (synced,) = conn.execute(
                f"select max(_fivetran_synced) + interval 1 hour from {table}"
            ).fetchone()
            (count, max_id) = conn.execute(f"select count(*), max(job_id) from {table}").fetchone()
            conn.execute(
                f"""
                update {table}
                set status = 'completed', updated_at = ?, _fivetran_synced = ?,
                    completed_at = coalesce(completed_at, scheduled_at + interval 2 hour)
                where job_id % 1000 = 3""",
                [synced, synced],
            )
            conn.execute(
                f"update {table} set _fivetran_deleted = true, _fivetran_synced = ? where job_id % 10000 = 7",
                [synced],
            )
            conn.execute(
                f"""
                insert into {table}
                select job_id + {count}, customer_id, technician_id, service_type_id, region_id, status,
                    priority, scheduled_at + interval 1 day, started_at, completed_at, cancelled_at,
                    total_amount_cents, notes, created_at, updated_at, ?, false
                from {table}
                where job_id > {max_id} - {max(1, count // 1000)}""",
                [synced],
            )


def dbt(
    workdir: Path, warehouse: Path, command: str, **options: Any
) -> tuple[float, dict[str, float]]:
    """Run dbt (``options`` as ``dbt_args`` takes them); wall seconds and each node's time."""
    env = {
        **os.environ,
        "FIELDFORCE_WAREHOUSE_PATH": str(warehouse),
        "DBT_TARGET": "local",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    target = workdir / "target"
    started = time.perf_counter()
    run_dbt(
        command,
        env=env,
        project_dir=DBT_PROJECT_DIR,
        target_path=target,
        log_path=workdir / "logs",
        **options,
    )
    wall = time.perf_counter() - started
    results = json.loads((target / "run_results.json").read_text())["results"]
    return wall, {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results}


def run(scale: float = 1.0, out_dir: Path | str = RESULTS_DIR) -> dict[str, Any]:
    """Time fct_jobs incremental vs full refresh at 10 M x scale jobs; write incremental.json."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs_rows = int(DESIGN_JOBS * scale)
    with tempfile.TemporaryDirectory(prefix="bench_incremental_") as tmp:
        work = Path(tmp)
        warehouse = work / "warehouse.duckdb"
        started = time.perf_counter()
        synthesize(warehouse, jobs_rows, invoices=False)
        synthesize_s = time.perf_counter() - started
        dbt(
            work,
            warehouse,
            "build",
            select=["+fct_jobs"],
            extra=["--resource-type", "seed", "model"],
        )
        full_wall, full = dbt(work, warehouse, "run", select=["fct_jobs"], full_refresh=True)
        land_a_sync(warehouse)
        _, enriched = dbt(work, warehouse, "run", select=["int_jobs_enriched"])
        incremental_wall, incremental = dbt(work, warehouse, "run", select=["fct_jobs"])
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            (fct_rows,) = conn.execute("select count(*) from core.fct_jobs").fetchone()

        demo = work / "demo"
        demo.mkdir()
        demo_warehouse = demo / "warehouse.duckdb"
        synthesize(demo_warehouse, int(DESIGN_JOBS * DEMO_SCALE), invoices=True)
        project_build_s, _ = dbt(demo, demo_warehouse, "build")

    result = {
        "jobs_rows": jobs_rows,
        "fct_jobs_rows_after_sync": fct_rows,
        "incremental_s": round(incremental["fct_jobs"], 3),
        "full_refresh_s": round(full["fct_jobs"], 3),
        "ratio": round(incremental["fct_jobs"] / full["fct_jobs"], 4),
        "incremental_wall_s": round(incremental_wall, 2),
        "full_refresh_wall_s": round(full_wall, 2),
        "int_jobs_enriched_s": round(enriched["int_jobs_enriched"], 3),
        "synthesize_s": round(synthesize_s, 2),
        "project_build_s": round(project_build_s, 2),
        "project_build_jobs_rows": int(DESIGN_JOBS * DEMO_SCALE),
        "scale": scale,
        "machine": machine(),
        "git_sha": git_sha(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (out_dir / "incremental.json").write_text(json.dumps(result, indent=2) + "\n")
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    return result
