"""dbt in this process, one per strategy: the project parsed once, then one ``build`` per run.

Each strategy builds into schemas of its own (dbt's ``ci`` target: ``ci_<strategy>_<layer>``,
the same models, materializations and SQL as ``local``; only the schema names differ), in the
one warehouse the syncs land in. ``dbtRunner`` reuses the parsed manifest, so dbt's start-up is
not paid per run, the same for every strategy.

Data tests and unit tests are excluded from every invocation: the comparison is what gets
rebuilt, and the project's error tests (``assert_revenue_reconciles`` between QuickBooks
syncs) would otherwise skip downstream models in every strategy alike.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from devstack.environ import environ

from analytics_platform.settings import DBT_PROJECT_DIR
from analytics_platform.transform.invocation import dbt_args
from benchmarks.day.records import Invocation

THREADS = 2
NO_TESTS = ("--exclude-resource-type", "test", "unit_test")


def dbt_env(warehouse: Path, schema: str) -> dict[str, str]:
    """The ``ci`` target: every model lands in ``ci_<schema>_<layer>`` of the given warehouse."""
    return {
        "FIELDFORCE_WAREHOUSE_PATH": str(warehouse),
        "DBT_TARGET": "ci",
        "DBT_CI_SCHEMA": schema,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


class Dbt:
    """dbt in this process for one strategy: the project parsed once, one ``build`` per run."""

    def __init__(self, work: Path, warehouse: Path, schema: str) -> None:
        """Parse the project into ``work/target`` (never the shared ``dbt_fieldforce/target``).

        The schema names are resolved at parse time, hence one parse per strategy.
        """
        from dbt.cli.main import dbtRunner

        self.location: dict[str, Any] = {
            "project_dir": DBT_PROJECT_DIR,
            "target_path": work / "target",
            "log_path": work / "logs",
        }
        self.env = dbt_env(warehouse, schema)
        with environ(self.env):
            result = dbtRunner().invoke(dbt_args("parse", quiet=True, **self.location))
        if not result.success:
            raise RuntimeError(f"dbt parse failed: {result.exception}")
        self.manifest: dict[str, Any] = json.loads((work / "target" / "manifest.json").read_text())
        self.first: Invocation | None = None
        """The first whole build (untimed): its node times are what ``sao`` tunes with."""
        self._runner = dbtRunner(manifest=result.result)

    def build(self, args: Sequence[str]) -> Invocation:
        """Run ``dbt <args>`` (tests excluded); the node results and wall time."""
        from analytics_platform.transform.assets import release_embedded_warehouse

        command, *rest = args
        argv = dbt_args(
            command,
            quiet=True,
            **self.location,
            extra=[
                *rest,
                *NO_TESTS,
                "--threads",
                str(THREADS),
                "--log-level-file",
                "none",
                "--no-write-json",
            ],
        )
        with environ(self.env):
            started = time.perf_counter()
            try:
                result = self._runner.invoke(argv)
            finally:
                wall = time.perf_counter() - started
                # dbt-duckdb keeps its DuckDB handle for the process: drop it, or the local
                # Fivetran (another process) could not open the warehouse for the next sync.
                release_embedded_warehouse()
        if result.exception is not None or result.result is None:
            raise RuntimeError(f"dbt {' '.join(args)} crashed: {result.exception}")
        nodes = tuple(
            (
                item.node.unique_id,
                str(item.node.resource_type),
                str(item.status),
                float(item.execution_time or 0.0),
            )
            for item in result.result.results
        )
        return Invocation(wall, nodes)

    def node_keys(self) -> dict[str, dg.AssetKey]:
        """unique_id -> asset key of every model, seed and snapshot (the platform's translator)."""
        from analytics_platform.transform.assets import translator

        return {
            unique_id: translator.get_asset_key(props)
            for unique_id, props in self.manifest["nodes"].items()
            if props["resource_type"] in ("model", "seed", "snapshot")
        }

    def sources(self) -> tuple[dict[str, str], dict[str, str]]:
        """Each dbt source's schema, and its tenant schema prefix where it has one."""
        schemas: dict[str, str] = {}
        prefixes: dict[str, str] = {}
        for props in self.manifest["sources"].values():
            name = props["source_name"]
            schemas[name] = props["schema"]
            prefix = (
                (props.get("source_meta") or {}).get("fieldforce", {}).get("tenant_schema_prefix")
            )
            if prefix:
                prefixes[name] = prefix
        return schemas, prefixes
