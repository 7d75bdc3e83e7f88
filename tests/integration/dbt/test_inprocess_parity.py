"""dbt in process and dbt as a subprocess give a run the same Dagster events.

The tiny project (``tiny_project/``) has what a build can do to a run: seeds and tables that
build, an error-severity test whose failure blocks the model downstream, a warn-severity test
whose failure does not, and a model that always fails. Each build goes through the code
location's own dbt op body (``_stream``) with the code location's resource, once per runner, on
a fresh copy of the warehouse.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from dagster_dbt import DbtCliResource, dbt_assets

from analytics_platform.settings import DbtRunner
from analytics_platform.transform.assets import (
    FieldForceDbtCliResource,
    _stream,
    dbt_executable,
)
from analytics_platform.transform.inprocess import DBT_LOCK
from analytics_platform.transform.invocation import run_dbt

pytestmark = pytest.mark.timeout(600)

TINY = Path(__file__).parent / "tiny_project"
RUNNERS: tuple[DbtRunner, ...] = ("subprocess", "inprocess")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the tiny project, parsed (``target/manifest.json``).

    Parsed for a warehouse file named as the builds' are (the file's name is the DuckDB
    database in every relation name), so that the in-process path uses the prepared manifest.
    """
    project = tmp_path_factory.mktemp("tiny") / "tiny_project"
    shutil.copytree(TINY, project)
    env = {"TINY_WAREHOUSE_PATH": str(project.parent / "warehouse.duckdb")}
    run_dbt("parse", quiet=True, project_dir=project, env=env, cwd=project)
    yield project


def _build(
    project: Path,
    runner: DbtRunner,
    warehouse: Path,
    monkeypatch: pytest.MonkeyPatch,
    **selection: str,
) -> dg.ExecuteInProcessResult:
    """One materialization of the project's assets (``select``/``exclude``) with ``runner``."""
    monkeypatch.setenv("TINY_WAREHOUSE_PATH", str(warehouse))

    @dbt_assets(manifest=project / "target" / "manifest.json", name=f"tiny_{runner}", **selection)
    def tiny_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        yield from _stream(context, dbt, ["build"])

    resource = FieldForceDbtCliResource(
        project_dir=str(project), dbt_executable=dbt_executable(), runner=runner
    )
    return dg.materialize(
        [tiny_assets],
        resources={"dbt": resource},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _outcome(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    materialized = {
        event.asset_key.to_user_string() for event in result.get_asset_materialization_events()
    }
    checks = {
        (
            evaluation.asset_key.to_user_string(),
            evaluation.check_name,
            evaluation.passed,
            evaluation.severity.value,
        )
        for evaluation in (
            event.asset_check_evaluation_data
            for event in result.all_events
            if event.event_type_value == "ASSET_CHECK_EVALUATION"
        )
    }
    return {"materialized": materialized, "checks": checks}


@pytest.fixture(scope="module")
def outcomes(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        results = {}
        for runner in RUNNERS:
            warehouse = tmp_path_factory.mktemp(runner) / "warehouse.duckdb"
            results[runner] = _build(tiny, runner, warehouse, monkeypatch, exclude="tag:broken")
        return results


def test_both_runners_report_the_same_materializations_checks_and_blocked_assets(
    outcomes: dict[str, dg.ExecuteInProcessResult],
) -> None:
    subprocess_, inprocess = (_outcome(outcomes[runner]) for runner in RUNNERS)
    assert inprocess == subprocess_
    # ... and that outcome is the build's: the error test blocks item_totals, the warn test
    # fails without blocking order_totals.
    assert inprocess["materialized"] == {"raw_items", "items", "orders", "order_totals"}
    failed = {(key, passed, severity) for key, _, passed, severity in inprocess["checks"]}
    assert ("items", False, "ERROR") in failed
    assert ("orders", False, "WARN") in failed
    # The failed error test fails the step, on either path.
    for result in outcomes.values():
        assert not result.success


def test_row_counts_and_columns_come_after_each_materialization(
    outcomes: dict[str, dg.ExecuteInProcessResult],
) -> None:
    for result in outcomes.values():
        order = [
            (event.event_type_value, event.asset_key.to_user_string())
            for event in result.all_events
            if event.event_type_value in ("ASSET_MATERIALIZATION", "ASSET_OBSERVATION")
            and event.asset_key is not None
        ]
        observed = {
            event.asset_key.to_user_string(): event.asset_observation_data.asset_observation.metadata
            for event in result.all_events
            if event.event_type_value == "ASSET_OBSERVATION" and event.asset_key is not None
        }
        assert observed["order_totals"]["dagster/row_count"].value == 1
        assert "dagster/column_schema" in observed["orders"]
        for key in observed:
            assert order.index(("ASSET_MATERIALIZATION", key)) < order.index(
                ("ASSET_OBSERVATION", key)
            )


def test_a_failed_in_process_build_fails_with_dbts_message_and_frees_the_warehouse(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    result = _build(tiny, "inprocess", warehouse, monkeypatch, select="tag:broken")
    assert not result.success
    failures = [event for event in result.all_events if event.is_step_failure]
    assert failures
    message = str(failures[0].step_failure_data.error)
    assert "no_such_relation" in message  # dbt's (DuckDB's) own words about the model
    assert not DBT_LOCK.locked()
    with duckdb.connect(str(warehouse)) as conn:  # writable: no handle left in this process
        conn.execute("create table still_writable as select 1 as x")
