"""The dbt project as one Dagster multi-asset: models, snapshots and seeds.

One multi-asset, so that the run a sync starts is one step and one ``dbt build``. The daily
partitions sit on the incremental facts' own specs (``FieldForceDbtTranslator``), not on the
multi-asset: Dagster lets a subsettable multi-asset mix partitioned and unpartitioned assets,
and a run of the tables, the facts' latest partition and the reports over them is then a single
op. Split into a multi-asset per partitioning, the same run would be three ``dbt build``
processes one after the other (Dagster orders the pieces of a cycle tables -> facts -> reports),
each paying dbt's start-up on the path from a sync to its marts.

* A backfill of any range of the facts is one run (``BackfillPolicy.single_run``) that rebuilds
  exactly that window (``min_date``/``max_date`` vars).
* Any other run of the facts (automation, a sync) is the normal incremental merge with its
  3-day lookback, because a sync can change rows of any recent day, not only one partition.

dbt tests run inside the same ``dbt build`` and surface as asset checks; error-severity tests
block downstream models (dbt skips them), warn-severity tests do not.
"""

import importlib.metadata
import shutil
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets
from packaging import version

from analytics_platform.transform.partitions import backfill_policy, dbt_build_args, window_vars
from analytics_platform.transform.project import VENV_DBT, dbt_project
from analytics_platform.transform.translator import FieldForceDbtTranslator

WAREHOUSE_TAGS = {"fieldforce/warehouse": "dbt"}
"""Run tag the run queue limits to one at a time: dbt runs never collide on the warehouse."""

translator = FieldForceDbtTranslator()
retry_policy = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)


def release_embedded_warehouse() -> None:
    """Close the DuckDB file that dbt-duckdb keeps open in this process once dbt is done.

    Row counts and column metadata are fetched through dbt's adapter *in this process*, and
    dbt-duckdb caches one DuckDB handle per process for good. DuckDB allows one writing process
    per file, so with the in-process executor the next dbt step of the same run (a ``dbt``
    subprocess) could not open the warehouse. Snowflake has no such lock: nothing to do there.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # dbt-duckdb not installed (a Snowflake-only deployment)
        return
    manager: Any = DuckDBConnectionManager
    with manager._LOCK:  # noqa: SLF001 - dbt-duckdb has no public way to drop its cached handle
        env = manager._ENV  # noqa: SLF001
        manager._ENV = None  # noqa: SLF001
        if env is not None:
            env.close()


def _stream(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, args: list[str]
) -> Iterator[Any]:
    """Run dbt and stream events, adding row counts and column lineage as metadata."""
    context.log.info("dbt %s", " ".join(args))
    try:
        yield from (
            dbt.cli(args, context=context).stream().fetch_row_counts().fetch_column_metadata()
        )
    finally:
        release_embedded_warehouse()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    backfill_policy=backfill_policy,
    op_tags=WAREHOUSE_TAGS,
    retry_policy=retry_policy,
    name="dbt_fieldforce",
)
def dbt_fieldforce(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """Seeds, staging views, intermediate tables, snapshots, daily facts and marts."""
    vars_: dict[str, str] | None = None
    windowed = context.run.tags.get("dagster/backfill") or context.run.tags.get("fieldforce/window")
    if windowed and (context.has_partition_key or context.has_partition_key_range):
        window = context.partition_time_window
        vars_ = window_vars(window.start.date(), window.end.date())
    yield from _stream(context, dbt, dbt_build_args(vars_=vars_))


def dbt_executable() -> str:
    """``dbt`` on PATH, else the one installed next to this interpreter (an unactivated venv)."""
    return shutil.which("dbt") or (str(VENV_DBT) if VENV_DBT.exists() else "dbt")


class FieldForceDbtCliResource(DbtCliResource):
    """dagster-dbt's resource, without a ``dbt --version`` process before every dbt command.

    dagster-dbt asks the executable for its version on each ``cli()`` call (to tell dbt-core
    from the Fusion engine): a second dbt start-up per run, on the path from a sync to a mart. When the executable is the ``dbt`` installed next to this interpreter, it *is*
    this environment's dbt-core, whose version the package metadata already knows.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        if _is_this_environments_dbt(self.dbt_executable):
            return version.parse(importlib.metadata.version("dbt-core"))
        return super()._cli_version


def _is_this_environments_dbt(executable: str) -> bool:
    resolved = shutil.which(executable)
    return resolved is not None and VENV_DBT.exists() and Path(resolved).samefile(VENV_DBT)


def dbt_resource() -> DbtCliResource:
    """The ``dbt`` resource of the code location (benchmarks build the same one)."""
    return FieldForceDbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())


defs = dg.Definitions(
    assets=[dbt_fieldforce],
    resources={"dbt": dbt_resource()},
)
