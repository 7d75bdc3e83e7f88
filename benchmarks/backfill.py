"""A one-run backfill of every daily partition of the facts vs one dbt full refresh.

The target: a backfill of a year of daily partitions in one run, against one full refresh of
the same facts, gives identical checksums in at most 1.5x the full refresh's time.

`run(out_dir, scale)`:

1. A warehouse landed by the local Fivetran: the source estate generated at ``scale``
   (PostgreSQL + files), every connector's historical sync run by the sync engine the service
   runs (``FivetranService.run_sync``, as ``benchmarks/landing.py``), then one ``dbt build`` of
   the whole project (what automation's first build does). Untimed.
2. ``full_refresh_s``: on a snapshot of that warehouse, ``dbt build --full-refresh`` of the three
   facts (``fct_jobs``, ``fct_revenue``, ``int_technician_daily_metrics``), wall clock, dbt
   start-up and the facts' tests included.
3. ``backfill_s``: on the original, the backfill the way Dagster runs it under
   ``BackfillPolicy.single_run``: one run of the production ``dbt_fieldforce`` multi-asset, its
   three facts selected, over the partition range, tagged like the daemon tags a backfill run
   (``dagster/backfill``, ``dagster/asset_partition_range_start``/``_end``), so the asset turns
   the range into ``min_date``/``max_date`` and rebuilds exactly that window; wall clock of the
   in-process ``dg.materialize`` (job build, dbt start-up, ``dbt build``, row counts and column
   metadata). ``runs``: runs the backfill took (read back from the instance).
   Every partition the code location serves is backfilled: they start at
   ``FIELDFORCE_FIRST_PARTITION_DATE`` (the data's first day) and end yesterday.
   The daemon path of the same backfill is proven by ``tests/e2e/test_backfill_daemon.py``;
   the daemon's own planning ticks and run queue are left out of this timing on purpose.
4. ``checksums_equal``: order-independent checksums of the three facts (build-time columns
   excluded) after the backfill equal those of the full refresh.
5. What of the backfill is Dagster's own (``dagster_floor_s``): the same single-run backfill, same
   partitions, same three asset keys, same tags and instance kind, of a no-op multi-asset whose
   outputs carry no metadata. It pays what any single-run backfill of 336 partitions pays: the
   run, one planned event per asset partition at launch and one materialization event per asset
   partition (``planned_events``, ``materialization_events`` count them in the real run), and
   nothing of ours. ``event_metadata_bytes``: the mean serialized size of the real run's
   materializations' metadata (each output's metadata is copied onto every partition's event),
   ``ratio_floor`` = (full_refresh_s + dagster_floor_s) / full_refresh_s: the ratio a backfill
   would have with no bookkeeping of ours and dbt work equal to the full refresh's.

``ratio`` = backfill_s / full_refresh_s. dbt's own model times are reported too
(``*_dbt_models_s``: the sum of the three models' execution times), to separate dbt work from
fixed start-up. Writes ``out_dir/backfill.json``.
Run: ``uv run fieldforce bench backfill [--scale S] [--synthesized]``. ``--synthesized`` replaces
step 1's estate and syncs with ``bench scale``'s raw tables synthesized in DuckDB (the landing
contract's tables at the same volumes): at scale 1.0 landing the estate would take over an hour.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from devstack.environ import environ
from testkit.backfills import dbt_full_refresh, snapshot_warehouse
from testkit.builder import EstateSources, FivetranOptions, build_stack
from testkit.provenance import git_sha, machine
from testkit.warehouse_checksums import PARTITIONED_FACTS, connect_read_only, fact_checksums

from analytics_platform.settings import DBT_PROJECT_DIR
from analytics_platform.transform.invocation import run_dbt
from benchmarks.scale_data import synthesize

REPO = Path(__file__).resolve().parents[1]
FACT_MODELS = ("fct_jobs", "fct_revenue", "int_technician_daily_metrics")
DEFAULT_SCALE = 0.02
"""200 k jobs over the 90-day history, 1 M GPS events a day: built and measured in minutes."""


def _warehouse_env(warehouse: Path) -> dict[str, str]:
    """Point the dbt profile (read by the dbt subprocess Dagster starts) at ``warehouse``."""
    return {
        "FIELDFORCE_WAREHOUSE_PATH": str(warehouse),
        "DBT_TARGET": "local",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def land(home: Path, scale: float) -> tuple[Path, dict[str, int]]:
    """Generate the estate at ``scale`` and land every connector's historical sync."""
    warehouse = home / "warehouse.duckdb"
    landed: dict[str, int] = {}
    with build_stack(
        home,
        EstateSources(home=home, scale=scale, tenants=2),
        fivetran=FivetranOptions(mode="in_process"),
        warehouse=warehouse,
        first_sync="none",
    ) as stack:
        service = stack.service
        for connector_id, connector in service.account.connectors.items():
            if not service.source_configured(connector):
                continue
            [entry] = stack.sync(connector_id)
            if entry["status"] != "SUCCESSFUL":
                raise RuntimeError(f"{connector_id} sync failed: {entry['message']}")
            landed[connector_id] = int(entry["rows_inserted"])
    return warehouse, landed


def dbt_build_project(warehouse: Path, workdir: Path) -> float:
    """The whole project once (seeds, views, tables, snapshots, tests): the first build."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "FIELDFORCE_"))}
    env |= {"FIELDFORCE_WAREHOUSE_PATH": str(warehouse), "DBT_TARGET": "local"}
    started = time.perf_counter()
    run_dbt(
        "build",
        env=env | {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        project_dir=DBT_PROJECT_DIR,
        target_path=workdir / "target",
        log_path=workdir / "logs",
    )
    return time.perf_counter() - started


def backfill_in_one_run(warehouse: Path) -> dict[str, Any]:
    """Backfill every partition of the facts as one run, tagged as the daemon tags it."""
    from analytics_platform.transform.project import prepare_manifest

    prepare_manifest()  # definitions load from a prepared manifest, as `fieldforce up` makes it
    from analytics_platform.transform.assets import dbt_fieldforce, dbt_resource
    from analytics_platform.transform.partitions import daily_partitions

    partitions = daily_partitions.get_partition_keys()
    backfill_id = f"bench-{uuid.uuid4().hex[:8]}"
    tags = {
        "dagster/backfill": backfill_id,
        "dagster/asset_partition_range_start": partitions[0],
        "dagster/asset_partition_range_end": partitions[-1],
    }
    instance = dg.DagsterInstance.ephemeral()
    resource = dbt_resource()
    facts = [
        dbt_fieldforce.specs_by_key[key]
        for key in dbt_fieldforce.keys
        if dbt_fieldforce.specs_by_key[key].partitions_def
    ]
    with environ(_warehouse_env(warehouse)):
        started = time.perf_counter()
        result = dg.materialize(
            [dbt_fieldforce],
            selection=[spec.key for spec in facts],
            resources={"dbt": resource},
            instance=instance,
            tags=tags,
        )
        seconds = time.perf_counter() - started
    if not result.success:
        raise RuntimeError("the backfill run failed")
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    planned = instance.get_records_for_run(
        result.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, limit=1_000_000
    ).records
    model_seconds: dict[str, float] = {}
    partitions_done: dict[str, set[str]] = {}
    materializations = result.get_asset_materialization_events()
    metadata_bytes = [
        len(dg.serialize_value(event.materialization.metadata)) for event in materializations
    ]
    for event in materializations:
        materialization = event.materialization
        name = materialization.asset_key.path[-1]
        partitions_done.setdefault(name, set()).add(str(materialization.partition))
        duration = materialization.metadata.get("Execution Duration")
        if duration is not None:
            model_seconds[name] = float(duration.value)  # type: ignore[arg-type]
    missing = {
        n: len(partitions) - len(p) for n, p in partitions_done.items() if len(p) != len(partitions)
    }
    if set(partitions_done) != set(FACT_MODELS) or missing:
        raise RuntimeError(f"partitions not materialized: {missing or partitions_done.keys()}")
    return {
        "partitions": partitions,
        "runs": len(runs),
        "seconds": seconds,
        "dbt_models_s": sum(model_seconds.values()),
        "planned_events": len(planned),
        "materialization_events": len(materializations),
        "event_metadata_bytes": round(sum(metadata_bytes) / max(1, len(metadata_bytes))),
        "trace": event_trace(instance, result.run_id),
        "dagster_floor": dagster_floor(facts, {**tags, "dagster/backfill": f"{backfill_id}-floor"}),
    }


def event_trace(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """Where a run's time went, from its event log (seconds between event kinds).

    ``planning_s``: the planned events written before the run starts; ``step_start_s``: from
    them to the step's start; ``to_first_materialization_s``: step start to the first
    materialization (dbt start-up and the models before the first fact); ``materializations_s``:
    first to last materialization (dbt's remaining models, and each output's events, one per
    asset partition); ``after_materializations_s``: last materialization to the step's end
    (what the op does once the facts are reported); ``run_end_s``: step end to run end.
    """
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for record in instance.get_records_for_run(run_id, limit=1_000_000).records:
        entry = record.event_log_entry
        kind = entry.dagster_event_type
        name = kind.value if kind is not None else "LOG"
        first.setdefault(name, entry.timestamp)
        last[name] = entry.timestamp
    planned = dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED.value
    materialized = dg.DagsterEventType.ASSET_MATERIALIZATION.value
    step_start = first[dg.DagsterEventType.STEP_START.value]
    step_end = last[dg.DagsterEventType.STEP_SUCCESS.value]
    gaps = {
        "planning_s": last[planned] - first[planned],
        "step_start_s": step_start - last[planned],
        "to_first_materialization_s": first[materialized] - step_start,
        "materializations_s": last[materialized] - first[materialized],
        "after_materializations_s": step_end - last[materialized],
        "run_end_s": last[dg.DagsterEventType.RUN_SUCCESS.value] - step_end,
    }
    return {name: round(seconds, 2) for name, seconds in gaps.items()}


def dagster_floor(
    specs: list[dg.AssetSpec],
    tags: dict[str, str],
    instance: dg.DagsterInstance | None = None,
) -> tuple[float, dict[str, float]]:
    """The same single-run backfill of a no-op multi-asset (Dagster's share): wall seconds, trace."""

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(spec.key, partitions_def=spec.partitions_def, skippable=True)
            for spec in specs
        ],
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=True,
        name="dagster_floor",
    )
    # `context` unannotated: under postponed annotations Dagster would read a string.
    def noop(context) -> Iterator[dg.MaterializeResult]:
        for key in sorted(context.selected_asset_keys, key=str):
            yield dg.MaterializeResult(asset_key=key)

    instance = instance or dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    result = dg.materialize([noop], instance=instance, tags=tags)
    seconds = time.perf_counter() - started
    if not result.success:
        raise RuntimeError("the no-op backfill failed")
    return seconds, event_trace(instance, result.run_id)


def _fact_rows_and_span(path: Path) -> tuple[dict[str, int], str]:
    conn = connect_read_only(path)
    try:
        rows, firsts, lasts = {}, [], []
        for relation, column in PARTITIONED_FACTS.items():
            count, first, last = conn.execute(
                f"select count(*), min({column}), max({column}) from {relation}"
            ).fetchone()  # type: ignore[misc]
            rows[relation] = int(count)
            firsts += [str(first)] if first else []
            lasts += [str(last)] if last else []
    finally:
        conn.close()
    return rows, f"{min(firsts)}..{max(lasts)}"


def run(out_dir: Path, scale: float = DEFAULT_SCALE, synthesized: bool = False) -> dict[str, Any]:
    """Measure and write ``out_dir/backfill.json`` (see the module docstring).

    ``synthesized``: start from ``bench scale``'s raw tables, synthesized in DuckDB
    (:func:`benchmarks.scale_data.synthesize`), instead of the estate landed by the local
    Fivetran. At scale 1.0 landing the estate alone takes over an hour on two cores; what is
    measured (full refresh, backfill, checksums) is the same.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="bench-backfill-", dir="/tmp"))
    home.chmod(0o711)  # the PostgreSQL server account must traverse it when we are root
    try:
        started = time.perf_counter()
        if synthesized:
            warehouse = home / "warehouse.duckdb"
            landed = synthesize(warehouse, scale)
        else:
            warehouse, landed = land(home, scale)
        landed_s = time.perf_counter() - started
        project_build_s = dbt_build_project(warehouse, home / "dbt_first_build")

        reference = home / "full_refresh" / "warehouse.duckdb"
        snapshot_warehouse(warehouse, reference)
        full_refresh_s, nodes = dbt_full_refresh(reference, reference.parent, FACT_MODELS)
        full_dbt_models_s = sum(
            seconds
            for unique_id, seconds in nodes.items()
            if unique_id.startswith("model.") and unique_id.split(".")[-1] in FACT_MODELS
        )
        backfill = backfill_in_one_run(warehouse)
        backfilled, refreshed = fact_checksums(warehouse), fact_checksums(reference)
        rows, data_dates = _fact_rows_and_span(warehouse)
    finally:
        shutil.rmtree(home, ignore_errors=True)

    partitions = backfill["partitions"]
    floor_s, floor_trace = backfill["dagster_floor"]
    result: dict[str, Any] = {
        "partitions": len(partitions),
        "runs": backfill["runs"],
        "backfill_s": round(backfill["seconds"], 2),
        "full_refresh_s": round(full_refresh_s, 2),
        "ratio": round(backfill["seconds"] / full_refresh_s, 2),
        "checksums_equal": backfilled == refreshed,
        "partition_range": f"{partitions[0]}..{partitions[-1]}",
        "data_dates": data_dates,
        "dagster_floor_s": round(floor_s, 2),
        "ratio_floor": round((full_refresh_s + floor_s) / full_refresh_s, 2),
        "backfill_trace_s": backfill["trace"],
        "dagster_floor_trace_s": floor_trace,
        "planned_events": backfill["planned_events"],
        "materialization_events": backfill["materialization_events"],
        "event_metadata_bytes": backfill["event_metadata_bytes"],
        "backfill_dbt_models_s": round(backfill["dbt_models_s"], 2),
        "full_refresh_dbt_models_s": round(full_dbt_models_s, 2),
        "fact_rows": rows,
        "checksums": {relation: [c.rows, c.digest] for relation, c in backfilled.items()},
        "landed_rows": sum(landed.values()),
        "land_s": round(landed_s, 1),
        "project_build_s": round(project_build_s, 1),
        "note": (
            "Partitions run from FIELDFORCE_FIRST_PARTITION_DATE to yesterday; "
            "every one is backfilled in one run (dg.materialize with the daemon's "
            "backfill and range tags; the daemon path itself is the e2e test's). "
            "full_refresh_s is plain `dbt build --full-refresh` of the same facts."
        ),
        "scale": scale,
        "raw_tables": (
            "synthesized in DuckDB (bench scale's)" if synthesized else "estate + local Fivetran"
        ),
        "machine": machine(),
        "git_sha": git_sha(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (out_dir / "backfill.json").write_text(json.dumps(result, indent=2) + "\n")
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    return result
