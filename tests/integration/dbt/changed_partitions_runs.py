"""Three runs of the code location's dbt op over the small raw fixture, as JSON on stdout.

Run as ``python -m tests.integration.dbt.changed_partitions_runs <workdir>`` with
``FIELDFORCE_FIRST_PARTITION_DATE`` set to the fixture's month, so that its days are partitions
(the partitions are fixed when ``analytics_platform`` is imported, hence a process of its own):

1. a first build of every asset (tagged as a sync's run for one partition);
2. after the fixture's second sync, a sync's run for a partition none of the changes touch;
3. a backfill of a three-day range.

For each run: the partitions each fact reported; for run 2, the order of its materializations
and the facts' rows before and after.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from analytics_platform.transform.assets import dbt_fieldforce, dbt_resource
from analytics_platform.transform.partitions import BUILD_STAMP_COLUMNS

from . import raw_fixture

READ_BY = {
    "fct_jobs": ("pipeline_status", "rpt_operations_daily"),
    "fct_revenue": ("pipeline_status", "rpt_executive_summary"),
    "int_technician_daily_metrics": ("fct_technician_performance",),
}
"""The models built on each fact (from the manifest's child map)."""
FACTS = {
    "fct_jobs": ("core.fct_jobs", "scheduled_date"),
    "fct_revenue": ("finance.fct_revenue", "revenue_date"),
    "int_technician_daily_metrics": ("int_operations.int_technician_daily_metrics", "work_date"),
}
SYNC_PARTITION = "2025-01-20"
"""The partition a sync's run is launched for: no row of the fixture lies on that day."""
BACKFILL = ("2025-01-11", "2025-01-13")


def _reported(result: dg.ExecuteInProcessResult) -> dict[str, list[str]]:
    by_fact: dict[str, list[str]] = {name: [] for name in FACTS}
    for event in result.get_asset_materialization_events():
        name = event.asset_key.path[-1]
        if name in by_fact:
            by_fact[name].append(event.partition or "")
    return {name: sorted(keys) for name, keys in by_fact.items()}


def _rows(warehouse: Path) -> dict[str, list[list[Any]]]:
    """Each fact's rows (without the build stamps) with their day first, as JSON-able values."""
    rows = {}
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        for name, (relation, day) in FACTS.items():
            schema, table = relation.split(".")
            columns = [
                column
                for (column,) in conn.execute(
                    "select column_name from information_schema.columns"
                    " where table_schema = ? and table_name = ? and column_name not in ("
                    + ", ".join("?" for _ in BUILD_STAMP_COLUMNS)
                    + ") order by ordinal_position",
                    [schema, table, *BUILD_STAMP_COLUMNS],
                ).fetchall()
            ]
            query = f"select cast({day} as varchar), {', '.join(columns)} from {relation}"
            rows[name] = [[str(v) for v in row] for row in conn.execute(query).fetchall()]
    return rows


def main(workdir: Path) -> None:
    """Run the three builds and print what they reported."""
    warehouse = workdir / "warehouse.duckdb"
    initial = raw_fixture.initial_rows()
    raw_fixture.load_duckdb(str(warehouse), initial)
    instance = dg.DagsterInstance.ephemeral()
    resources = {"dbt": dbt_resource()}
    sync_tags = {"fieldforce/trigger": "sync"}

    def run(**options: Any) -> dg.ExecuteInProcessResult:
        result = dg.materialize([dbt_fieldforce], instance=instance, resources=resources, **options)
        assert result.success
        return result

    first = run(partition_key=SYNC_PARTITION, tags=sync_tags)
    before = _rows(warehouse)
    raw_fixture.load_duckdb(str(warehouse), raw_fixture.merge(initial, raw_fixture.changes()))
    sync = run(partition_key=SYNC_PARTITION, tags=sync_tags)
    after = _rows(warehouse)
    backfill = run(
        tags={
            "dagster/backfill": "changed-partitions",
            "dagster/asset_partition_range_start": BACKFILL[0],
            "dagster/asset_partition_range_end": BACKFILL[1],
        }
    )
    json.dump(
        {
            "first": _reported(first),
            "sync": _reported(sync),
            "sync_order": [e.asset_key.path[-1] for e in sync.get_asset_materialization_events()],
            "backfill": _reported(backfill),
            "before": before,
            "after": after,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
