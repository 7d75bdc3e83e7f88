"""Partition backfills of a running platform, launched the way the UI launches them.

The end-to-end test and ``benchmarks/backfill.py`` both drive a backfill through the webserver's
GraphQL API (``launchPartitionBackfill``), let the daemon's backfill loop plan and launch its
runs, and then compare the facts with a full refresh built by plain dbt into a snapshot of the
same warehouse (:func:`snapshot_warehouse`, :func:`dbt_full_refresh`), so both builds read the
very same landed data.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from devstack.stack import REPO_ROOT

from analytics_platform.transform.invocation import run_dbt
from testkit.harness import RunningPlatform
from testkit.warehouse_checksums import connect_read_only

PROJECT_DIR = REPO_ROOT / "dbt_fieldforce"

ASSET_NODES = """
query PartitionedAssets {
  assetNodes {
    assetKey { path }
    isPartitioned
    partitionKeys
    backfillPolicy { policyType }
  }
}
"""
LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on Error { message }
  }
}
"""
STATUS = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { id status numPartitions endTimestamp error { message } }
    ... on PythonError { message }
  }
}
"""
FINISHED = frozenset({"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"})
"""Backfill statuses after which the daemon launches nothing more."""


@dataclass(frozen=True)
class PartitionedAsset:
    """A partitioned asset as the running code location serves it."""

    key: dg.AssetKey
    partition_keys: list[str]
    backfill_policy: str | None


@dataclass(frozen=True)
class BackfillOutcome:
    """A finished backfill: final status, partitions, the runs it launched, and its timing."""

    backfill_id: str
    status: str
    partitions: int
    runs: list[dg.DagsterRun]
    launched_at: float
    """Epoch seconds just before the mutation was sent."""
    finished_at: float
    """Epoch seconds the daemon marked the backfill finished (its ``endTimestamp``)."""


def partitioned_assets(platform: RunningPlatform) -> list[PartitionedAsset]:
    """Every partitioned asset of the code location, with its partition keys and policy."""
    nodes = platform.graphql(ASSET_NODES)["assetNodes"]
    return [
        PartitionedAsset(
            key=dg.AssetKey(node["assetKey"]["path"]),
            partition_keys=list(node["partitionKeys"]),
            backfill_policy=(node["backfillPolicy"] or {}).get("policyType"),
        )
        for node in nodes
        if node["isPartitioned"]
    ]


def launch_backfill(
    platform: RunningPlatform, keys: Sequence[dg.AssetKey], partitions: Sequence[str], title: str
) -> str:
    """Launch an asset backfill of ``partitions`` of ``keys``; returns the backfill id."""
    params = {
        "assetSelection": [{"path": key.path} for key in keys],
        "partitionNames": list(partitions),
        "title": title,
    }
    result = platform.graphql(LAUNCH, {"params": params})["launchPartitionBackfill"]
    if result["__typename"] != "LaunchBackfillSuccess":
        raise RuntimeError(f"backfill not launched: {result}")
    return result["backfillId"]


def wait_for_backfill(
    platform: RunningPlatform, backfill_id: str, launched_at: float, timeout_s: float = 600
) -> BackfillOutcome:
    """Wait until the daemon finishes ``backfill_id``; its runs are read from the instance."""
    seen: dict[str, object] = {}

    def finished() -> bool:
        backfill = platform.graphql(STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        if backfill["__typename"] != "PartitionBackfill":
            raise RuntimeError(f"backfill {backfill_id}: {backfill}")
        seen.update(backfill)
        return backfill["status"] in FINISHED

    platform.wait_for(finished, timeout_s, f"backfill {backfill_id} to finish")
    runs = platform.instance().get_runs(
        filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id})
    )
    end = seen.get("endTimestamp")
    return BackfillOutcome(
        backfill_id=backfill_id,
        status=str(seen["status"]),
        partitions=int(seen["numPartitions"] or 0),  # type: ignore[arg-type]
        runs=list(runs),
        launched_at=launched_at,
        finished_at=float(end) if isinstance(end, int | float) else time.time(),
    )


def run_backfill(
    platform: RunningPlatform,
    keys: Sequence[dg.AssetKey],
    partitions: Sequence[str],
    title: str,
    timeout_s: float = 600,
) -> BackfillOutcome:
    """Launch a backfill and wait for it (see :func:`launch_backfill`)."""
    launched_at = time.time()
    backfill_id = launch_backfill(platform, keys, partitions, title)
    return wait_for_backfill(platform, backfill_id, launched_at, timeout_s)


def materialized_partitions(platform: RunningPlatform, run: dg.DagsterRun) -> dict[str, list]:
    """Per asset (last key segment): the sorted partitions ``run`` materialized."""
    logs = platform.instance().all_logs(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    )
    by_asset: dict[str, list] = {}
    for entry in logs:
        materialization = entry.asset_materialization
        assert materialization is not None
        by_asset.setdefault(materialization.asset_key.path[-1], []).append(
            materialization.partition
        )
    return {name: sorted(parts) for name, parts in by_asset.items()}


def snapshot_warehouse(live: Path, dest: Path) -> None:
    """Copy the DuckDB file (and any WAL) while a read-only connection holds writers off."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    guard = connect_read_only(live)
    try:
        shutil.copyfile(live, dest)
        wal = live.with_name(live.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, dest.with_name(dest.name + ".wal"))
    finally:
        guard.close()


def dbt_full_refresh(
    warehouse: Path, workdir: Path, models: Sequence[str]
) -> tuple[float, dict[str, float]]:
    """``dbt build --full-refresh`` of ``models`` on ``warehouse``: wall seconds, node seconds.

    Its own target and log folders, so the platform's manifest is never touched.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "FIELDFORCE_"))}
    env |= {
        "FIELDFORCE_WAREHOUSE_PATH": str(warehouse),
        "DBT_TARGET": "local",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    target = workdir / "target"
    started = time.perf_counter()
    result = run_dbt(
        "build",
        full_refresh=True,
        select=models,
        project_dir=PROJECT_DIR,
        target_path=target,
        log_path=workdir / "logs",
        extra=("--indirect-selection", "cautious"),
        env=env,
        timeout=3600,
        check=False,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"dbt full refresh failed:\n{result.stdout[-4000:]}")
    results = json.loads((target / "run_results.json").read_text())["results"]
    return wall, {r["unique_id"]: float(r["execution_time"]) for r in results}
