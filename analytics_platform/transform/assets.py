"""The dbt project as one Dagster multi-asset: models, snapshots and seeds.

One multi-asset, so that the run a sync starts is one step and one ``dbt build``. The daily
partitions sit on the incremental facts' own specs (``FieldForceDbtTranslator``), not on the
multi-asset: Dagster lets a subsettable multi-asset mix partitioned and unpartitioned assets,
and a run of the tables, the facts and the reports over them is then a single op. Split into
a multi-asset per partitioning, the same run would be three ``dbt build`` processes one after
the other (Dagster orders the pieces of a cycle tables -> facts -> reports), each paying dbt's
start-up on the path from a sync to its marts.

* A backfill of any range of the facts is one run (``BackfillPolicy.single_run``) that rebuilds
  exactly that window (``min_date``/``max_date`` vars) and reports that range.
* Any other run of the facts (automation, a sync) is the normal incremental merge with its
  3-day lookback, because a sync can change rows of any recent day, not only one partition.
  Such a run reports a materialization for each day whose rows the build wrote (the facts
  stamp each row with its build time), not for the partition the run was launched for.

dbt tests run inside the same ``dbt build`` and surface as asset checks; error-severity tests
block downstream models (dbt skips them), warn-severity tests do not.

dbt runs in the run worker's own interpreter, warm, by default (:mod:`.inprocess`);
``FIELDFORCE_DBT_RUNNER=subprocess`` starts a ``dbt`` process per build as dagster-dbt does. Either
way each model's materialization goes out as soon as dbt reports it; its row count and columns
follow as an observation once dbt is done.
"""

import contextlib
import importlib.metadata
import shutil
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliInvocation, DbtCliResource, dbt_assets
from dagster_dbt.core.dbt_event_iterator import DbtEventIterator
from dagster_dbt.dagster_dbt_translator import DagsterDbtTranslator
from dagster_dbt.dbt_manifest import DbtManifestParam
from packaging import version

from analytics_platform.automation import datatime
from analytics_platform.settings import DbtRunner, load_settings
from analytics_platform.transform.inprocess import in_process_cli, release_embedded_warehouse
from analytics_platform.transform.partitions import (
    backfill_policy,
    changed_days_sql,
    dbt_build_args,
    partition_date_column,
    partition_keys_of_days,
    window_vars,
)
from analytics_platform.transform.project import VENV_DBT, dbt_project
from analytics_platform.transform.translator import FieldForceDbtTranslator

WAREHOUSE_TAGS = {"fieldforce/warehouse": "dbt"}
"""Run tag the run queue limits to one at a time: dbt runs never collide on the warehouse."""

translator = FieldForceDbtTranslator()
DBT_POOL = "dbt"
"""Concurrency pool of every dbt build: locally the run queue's single-writer tag governs the
embedded DuckDB; on Snowflake the pool is sized to the warehouse at deployment (docs/DEPLOY.md).
"""

TRANSIENT_WAREHOUSE_ERRORS = (
    "Conflicting lock is held",  # DuckDB: another process holds the embedded warehouse's file
    "Could not connect to Snowflake backend",  # the connector's 250001: network, not the SQL
    "Connection aborted",
    "Remote end closed connection",
)
"""Marks of a dbt failure that says nothing about the models: retried inside the run."""
TRANSIENT_RETRIES = 10
TRANSIENT_RETRY_S = 5
TRANSIENT_RETRY_MAX_S = 60
"""A transient failure is retried in its run this often, after 5, 10, 20, 40, then 60 s (8 min
in all): locally a sync's load holds the embedded warehouse for minutes at scale 1.0 (two
retries 5 s apart failed the first build while the historical syncs landed).

One retry mechanism per cause: a transient warehouse error is retried here, in the run; a
failed model or test is the planner's to retry, with its bounded backoff (an op retry would
run a broken model three times per planner attempt); a run whose worker was lost is the
instance's run retries' (``retry_on_asset_or_op_failure: false``)."""


def transient_wait_s(retry_number: int) -> float:
    """Seconds before the next attempt after ``retry_number`` retries: doubling, bounded."""
    return float(min(TRANSIENT_RETRY_S * 2**retry_number, TRANSIENT_RETRY_MAX_S))


def transient(failure: BaseException) -> bool:
    """Whether a dbt failure is one of :data:`TRANSIENT_WAREHOUSE_ERRORS`."""
    text = str(failure)
    return any(mark in text for mark in TRANSIENT_WAREHOUSE_ERRORS)


def _stream(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    args: list[str],
    by_changed_days: frozenset[dg.AssetKey] = frozenset(),
) -> Iterator[Any]:
    """Run dbt and stream its events as dbt reports them; row counts and columns come after.

    Each model's materialization goes out as soon as dbt reports it. Its row count, column
    schema and column lineage are asked of the warehouse once dbt is done and reported as an
    observation of the asset (:func:`_metadata_observations`): they never delay a mart's
    materialization, which is what automation and freshness wait for.

    The output of each of ``by_changed_days`` (partitioned facts in a non-backfill run) becomes
    one materialization per day whose rows the build wrote (:func:`_changed_day_materializations`),
    asked of the warehouse once dbt is done. From the first such output on, events wait for
    that and then go out in dbt's order, so the facts' materializations still come before
    those of the reports built on them (an automation condition would otherwise see a fact
    updated after its report). A fact that dbt built is reported even when a later model
    fails the build.
    """
    context.log.info("dbt %s", " ".join(args))
    started = datetime.now(UTC)
    waiting: list[Any] = []
    built: list[dg.Output | dg.AssetMaterialization] = []
    failure: Exception | None = None
    try:
        invocation = dbt.cli(args, context=context)
        try:
            for event in invocation.stream():
                if isinstance(event, dg.Output | dg.AssetMaterialization):
                    built.append(event)
                if waiting or _is_output_of(context, event, by_changed_days):
                    waiting.append(event)
                else:
                    yield event
        except Exception as exc:  # the build failed: report what it built, then fail
            failure = exc
        for event in waiting:
            if _is_output_of(context, event, by_changed_days):
                key = context.asset_key_for_output(event.output_name)
                yield from _changed_day_materializations(context, invocation, key, event, started)
            else:
                yield event
        yield from _metadata_observations(context, invocation, built)
        if failure is not None and transient(failure):
            context.log.warning("dbt failed on a transient warehouse error: %s", failure)
            raise dg.RetryRequested(
                max_retries=TRANSIENT_RETRIES,
                seconds_to_wait=transient_wait_s(context.retry_number),
            ) from failure
        if failure is not None:
            raise failure
    finally:
        release_embedded_warehouse()


def _metadata_observations(
    context: dg.AssetExecutionContext,
    invocation: DbtCliInvocation,
    built: list[dg.Output | dg.AssetMaterialization],
) -> Iterator[dg.AssetObservation]:
    """Row counts and column schema/lineage of what dbt built, one observation per asset.

    dagster-dbt's own fetchers (``fetch_row_counts``, ``fetch_column_metadata``) compute them;
    only what they add to an event's metadata is reported.
    """
    if not built:
        return
    enriched = DbtEventIterator(iter(built), invocation).fetch_row_counts().fetch_column_metadata()
    for before, after in zip(built, enriched, strict=True):
        extra = {k: v for k, v in after.metadata.items() if k not in before.metadata}
        if not extra:
            continue
        key = (
            before.asset_key
            if isinstance(before, dg.AssetMaterialization)
            else context.asset_key_for_output(before.output_name)
        )
        yield dg.AssetObservation(asset_key=key, metadata=extra)


def _is_output_of(
    context: dg.AssetExecutionContext, event: Any, keys: frozenset[dg.AssetKey]
) -> bool:
    return isinstance(event, dg.Output) and context.asset_key_for_output(event.output_name) in keys


def _changed_days(
    invocation: DbtCliInvocation, node: Mapping[str, Any], started: datetime
) -> list[Any]:
    """The days of the rows of one fact that the build started at ``started`` wrote."""
    adapter = invocation.adapter
    if adapter is None:
        raise RuntimeError("the dbt adapter is not available in this process")
    sql = changed_days_sql(node["relation_name"], partition_date_column(node), started)
    with (
        contextlib.chdir(invocation.project_dir),
        adapter.connection_named(f"changed_days_{node['unique_id']}"),
    ):
        _, table = adapter.execute(sql, fetch=True)
    return [row[0] for row in table.rows]


def _changed_day_materializations(
    context: dg.AssetExecutionContext,
    invocation: DbtCliInvocation,
    key: dg.AssetKey,
    output: dg.Output,
    started: datetime,
) -> Iterator[dg.AssetMaterialization | dg.Output]:
    """One materialization per existing partition whose rows the build wrote.

    If the warehouse cannot say which days changed, the run's own partitions are reported
    (the held output), with a warning: a wrong partition beats a failed run after a good build.
    """
    unique_id = output.metadata["unique_id"].value
    node = invocation.manifest["nodes"][unique_id]
    partitions_def = context.assets_def.specs_by_key[key].partitions_def
    try:
        days = _changed_days(invocation, node, started)
    except Exception as exc:  # any warehouse error: fall back, never fail the run
        context.log.warning("%s: cannot tell which days changed (%s)", key.to_user_string(), exc)
        yield output
        return
    assert partitions_def is not None
    keys, not_yet = partition_keys_of_days(days, partitions_def)
    if not_yet:
        context.log.info(
            "%s: rows of %d day(s) that are not partitions yet: %s",
            key.to_user_string(),
            len(not_yet),
            ", ".join(not_yet),
        )
    context.log.info("%s: %d partition(s) changed", key.to_user_string(), len(keys))
    for partition in keys:
        yield dg.AssetMaterialization(asset_key=key, partition=partition, metadata=output.metadata)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    backfill_policy=backfill_policy,
    op_tags=WAREHOUSE_TAGS,
    pool=DBT_POOL,
    name="dbt_fieldforce",
)
def dbt_fieldforce(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """Seeds, staging views, intermediate tables, snapshots, daily facts and marts."""
    # Before dbt reads anything: the source syncs each output will reflect (its data time).
    stamp = datatime.run_metadata(context)
    windowed = context.run.tags.get("dagster/backfill") or context.run.tags.get("fieldforce/window")
    if windowed and (context.has_partition_key or context.has_partition_key_range):
        window = context.partition_time_window
        vars_ = window_vars(window.start.date(), window.end.date())
        yield from datatime.stamped(
            context, _stream(context, dbt, dbt_build_args(vars_=vars_)), stamp
        )
        return
    partitioned = frozenset(
        key
        for key in context.selected_asset_keys
        if context.assets_def.specs_by_key[key].partitions_def is not None
    )
    events = _stream(context, dbt, dbt_build_args(), by_changed_days=partitioned)
    yield from datatime.stamped(context, events, stamp)


def dbt_executable() -> str:
    """``dbt`` on PATH, else the one installed next to this interpreter (an unactivated venv)."""
    return shutil.which("dbt") or (str(VENV_DBT) if VENV_DBT.exists() else "dbt")


class FieldForceDbtCliResource(DbtCliResource):
    """dagster-dbt's resource, run in process by default, without a ``dbt --version`` process.

    ``runner``: ``inprocess`` runs dbt in the run worker's interpreter with the prepared manifest
    (:mod:`.inprocess`), ``subprocess`` starts ``dbt`` as dagster-dbt does (for a deployment that
    wants each build isolated). Both feed dagster-dbt's own event parsing.

    dagster-dbt asks the executable for its version on each ``cli()`` call (to tell dbt-core
    from the Fusion engine): a second dbt start-up per run, on the path from a sync to a mart.
    When the executable is the ``dbt`` installed next to this interpreter, it *is* this
    environment's dbt-core, whose version the package metadata already knows.
    """

    runner: DbtRunner = "subprocess"

    @cached_property
    def _cli_version(self) -> version.Version:
        if _is_this_environments_dbt(self.dbt_executable):
            return version.parse(importlib.metadata.version("dbt-core"))
        return super()._cli_version

    def cli(  # type: ignore[override] - the same signature, keyword-only options
        self,
        args: Sequence[str],
        *,
        raise_on_error: bool = True,
        manifest: DbtManifestParam | None = None,
        dagster_dbt_translator: DagsterDbtTranslator | None = None,
        context: dg.OpExecutionContext | dg.AssetExecutionContext | None = None,
        target_path: Path | None = None,
    ) -> DbtCliInvocation:
        """dagster-dbt's ``cli``, in this process when ``runner`` is ``inprocess``."""
        run = in_process_cli if self.runner == "inprocess" else DbtCliResource.cli
        return run(
            self,
            args,
            raise_on_error=raise_on_error,
            manifest=manifest,
            dagster_dbt_translator=dagster_dbt_translator,
            context=context,
            target_path=target_path,
        )


def _is_this_environments_dbt(executable: str) -> bool:
    resolved = shutil.which(executable)
    return resolved is not None and VENV_DBT.exists() and Path(resolved).samefile(VENV_DBT)


def dbt_resource(runner: DbtRunner | None = None) -> FieldForceDbtCliResource:
    """The ``dbt`` resource of the code location (benchmarks build the same one).

    Args:
        runner: how dbt runs; default ``FIELDFORCE_DBT_RUNNER`` (``inprocess`` when unset).
    """
    return FieldForceDbtCliResource(
        project_dir=dbt_project,
        dbt_executable=dbt_executable(),
        runner=runner or load_settings().dbt_runner,
    )


defs = dg.Definitions(
    assets=[dbt_fieldforce],
    resources={"dbt": dbt_resource()},
)
