"""The day-in-the-life benchmark's accounting and strategy selection (``benchmarks.day``)."""

import datetime as dt
from collections.abc import Sequence

import dagster as dg
import pytest

from analytics_platform.automation import (
    ON_CODE,
    ON_UPSTREAM,
    REBUILD_TAG,
    SYNC_QUIET_S,
    sync_rebuilds,
    table_condition,
    view_condition,
)
from benchmarks.day import (
    QUIET_S,
    SENSOR_INTERVAL_S,
    Automation,
    BuildAll,
    BuildAllCoalesced,
    Invocation,
    Run,
    Sync,
    debounce,
    due_connectors,
    first_reflection,
    freshness_met,
    next_tick,
    percentile,
    source_selectors,
    summarize,
)

DESIGN_CADENCES = {
    "postgres_jobs_bu_north": 15,
    "postgres_jobs_bu_south": 15,
    "salesforce_crm": 60,
    "quickbooks_finance": 360,
    "servicetitan_ops": 30,
    "telematics_gps": 60,
    "sheets_targets": 1440,
}


def test_percentile_interpolates_and_is_none_without_values() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == pytest.approx(2.5)
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.95) == pytest.approx(3.85)
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([], 0.5) is None


def test_a_day_of_the_designs_cadences_is_293_syncs() -> None:
    assert due_connectors(DESIGN_CADENCES, 15) == [
        "postgres_jobs_bu_north",
        "postgres_jobs_bu_south",
    ]
    assert due_connectors(DESIGN_CADENCES, 30) == [
        "postgres_jobs_bu_north",
        "postgres_jobs_bu_south",
        "servicetitan_ops",
    ]
    assert set(due_connectors(DESIGN_CADENCES, 1440)) == set(DESIGN_CADENCES)
    day = [cid for tick in range(1, 97) for cid in due_connectors(DESIGN_CADENCES, tick * 15)]
    assert len(day) == 96 * 2 + 48 + 24 * 2 + 4 + 1
    assert day.count("quickbooks_finance") == 4
    assert day.count("sheets_targets") == 1


def test_debounce_groups_events_that_follow_within_the_quiet_period() -> None:
    assert debounce([0.0, 1.0, 2.5, 10.0, 12.9, 30.0], 3.0) == [[0, 1, 2], [3, 4], [5]]
    assert debounce([0.0, 3.5], 3.0) == [[0], [1]]
    assert debounce([], 3.0) == []


def test_next_tick_rounds_up_to_the_sensor_interval() -> None:
    assert next_tick(12.0, 5.0) == 15.0
    assert next_tick(15.0, 5.0) == 15.0
    assert next_tick(15.000000000001, 5.0) == 15.0  # float noise is not a tick late
    assert next_tick(15.01, 5.0) == 20.0


def test_a_sync_is_reflected_only_by_a_build_that_started_after_it() -> None:
    builds = [(0.0, 5.0), (10.0, 12.0), (20.0, 25.0)]
    assert first_reflection(8.0, builds) == 12.0
    assert first_reflection(10.0, builds) == 12.0
    assert first_reflection(10.5, builds) == 25.0  # the 10 s build started before it landed
    assert first_reflection(30.0, builds) is None


def test_freshness_fails_while_a_change_older_than_the_window_is_unreflected() -> None:
    checks = [60.0, 120.0, 180.0]
    # Landed at 0, rebuilt at 100: stale at 60 (60 s old, not reflected), fresh afterwards.
    assert freshness_met(checks, 60.0, [(0.0, 100.0)]) == 2
    # Landed at 50 and never rebuilt: fine until 110, stale from then on.
    assert freshness_met(checks, 60.0, [(50.0, None)]) == 1
    assert freshness_met(checks, 60.0, []) == 3


def test_source_plus_selects_the_synced_sources_and_fivetrans_own_tables() -> None:
    sources = {
        "fivetran_postgres": "fivetran_postgres_bu_north",
        "fivetran_servicetitan": "fivetran_servicetitan",
        "fivetran_sheets": "fivetran_sheets",
        "fivetran_metadata": "fivetran_metadata",
    }
    prefixes = {"fivetran_postgres": "fivetran_postgres_"}
    selected = source_selectors(
        ["fivetran_postgres_bu_south", "fivetran_servicetitan"], sources, prefixes
    )
    assert selected == ["fivetran_metadata", "fivetran_postgres", "fivetran_servicetitan"]
    assert source_selectors([], sources, prefixes) == ["fivetran_metadata"]


MART = dg.AssetKey(["marts", "core", "fct_jobs"])
OTHER_MART = dg.AssetKey(["marts", "ops", "pipeline_status"])


def _run(start: float, end: float, built: set[dg.AssetKey], builds: int = 1) -> Run:
    return Run(
        trigger_s=start,
        start_s=start,
        end_s=end,
        built=frozenset(built),
        builds=builds,
        warehouse_s=end - start,
        model_s=end - start,
        wall_s=end - start,
        failed=0,
        selection="",
    )


def test_summary_latency_is_the_last_affected_mart_and_counts_what_never_rebuilt() -> None:
    syncs = [
        Sync("a", "s", 0.0, 10.0, ()),
        Sync("b", "s", 10.0, 20.0, ()),
        Sync("c", "s", 900.0, 905.0, ()),
    ]
    affected = {0: {MART, OTHER_MART}, 1: {MART}, 2: {OTHER_MART}}
    runs = [_run(20.0, 30.0, {MART}, 3), _run(30.0, 50.0, {OTHER_MART}, 2)]
    figures = summarize(
        "x", runs, syncs, affected, {MART: 3600.0, OTHER_MART: 60.0}, [900.0, 1800.0], 1800.0
    )
    assert figures["x_builds"] == 5
    assert figures["x_warehouse_s"] == 30.0
    # sync 0: marts at 30 and 50 -> 40 s; sync 1: 30 -> 10 s; sync 2: never -> 1800 - 905.
    assert figures["x_latency_max_s"] == 895.0
    assert figures["x_latency_p50_s"] == 40.0
    assert figures["x_unreflected"] == 1
    # OTHER_MART (60 s window) is stale at 1800 (sync 2 unreflected for 895 s): 3 of 4 met.
    assert figures["x_freshness_met"] == 0.75


class _Dbt:
    """Builds exactly what it is asked to (by node name; all without a selection), instantly."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.calls: list[list[str]] = []

    def build(self, args: Sequence[str]) -> Invocation:
        self.calls.append(list(args))
        selected = args[args.index("--select") + 1].split() if "--select" in args else self.names
        return Invocation(
            1.5,
            tuple((self.names[name], "model", "success", 0.5) for name in selected),
        )


def test_automation_builds_a_sync_in_one_run_and_the_conditions_add_nothing() -> None:
    source = dg.AssetKey(["fivetran", "fivetran_jobs", "jobs"])
    view = dg.AssetKey(["staging", "stg_jobs"])
    table = dg.AssetKey(["intermediate", "int_jobs"])
    mart = dg.AssetKey(["marts", "core", "fct_jobs"])

    @dg.asset(
        key=view,
        deps=[source],
        group_name="staging",
        automation_condition=view_condition(),
        tags={REBUILD_TAG: ON_CODE},
    )
    def stg() -> None: ...

    @dg.asset(
        key=table,
        deps=[view],
        automation_condition=table_condition(),
        tags={REBUILD_TAG: ON_UPSTREAM},
    )
    def intermediate() -> None: ...

    daily = dg.DailyPartitionsDefinition(start_date="2026-03-01", timezone="UTC")

    @dg.asset(
        key=mart,
        deps=[table],
        partitions_def=daily,
        automation_condition=table_condition(),
        tags={REBUILD_TAG: ON_UPSTREAM},
    )
    def fact() -> None: ...

    defs = dg.Definitions(
        assets=[dg.AssetSpec(source, kinds={"fivetran"}), stg, intermediate, fact]
    )
    names = {view: "stg_jobs", table: "int_jobs", mart: "fct_jobs"}
    keys = {f"model.p.{name}": key for key, name in names.items()}
    dbt = _Dbt({name: f"model.p.{name}" for name in names.values()})
    automation = Automation(
        "automation",
        dbt,  # type: ignore[arg-type]
        keys,
        defs=defs,
        instance=dg.DagsterInstance.ephemeral(),
        day_start=dt.datetime(2026, 4, 1, tzinfo=dt.UTC),
        names=names,
        partitioned={mart: daily},
        rebuilds=sync_rebuilds(defs.resolve_all_asset_specs()),
    )
    assert automation.start([source, *names]) == 0

    event = dg.AssetMaterialization(source)
    automation.react([Sync("postgres_jobs", "fivetran_jobs", 900.0, 901.2, (event,))])
    [run] = automation.runs
    # The table and the mart over the view rebuild, in one run; the view does not; and the
    # conditions, evaluated after it, ask for no second build.
    assert run.selection == "fct_jobs int_jobs"
    assert run.built == frozenset({table, mart})
    assert "--select" in dbt.calls[0] and dbt.calls[0][0] == "build"
    # Released QUIET_S after the sync, requested at the first sensor tick once it is quiet.
    assert run.start_s == next_tick(901.2 + QUIET_S + SYNC_QUIET_S, SENSOR_INTERVAL_S)
    assert run.end_s == pytest.approx(run.start_s + 1.5)
    # The fact's build is recorded for its latest partition at the run's simulated time.
    latest = automation.instance.get_latest_materialization_event(mart)  # type: ignore[union-attr]
    assert latest is not None and latest.asset_materialization is not None
    assert latest.asset_materialization.partition == "2026-03-31"

    # A tick whose syncs changed nothing builds nothing.
    automation.react([Sync("postgres_jobs", "fivetran_jobs", 1800.0, 1801.0, ())])
    assert len(automation.runs) == 1


def test_build_all_builds_the_whole_project_after_every_sync_and_queues_while_busy() -> None:
    names = {dg.AssetKey(["marts", name]): name for name in ("fct_jobs", "dim_customers")}
    keys = {f"model.p.{name}": key for key, name in names.items()}
    syncs = [
        Sync("postgres_jobs_bu_north", "fivetran_jobs_north", 900.0, 901.0, ()),
        Sync("postgres_jobs_bu_south", "fivetran_jobs_south", 901.0, 901.5, ()),
    ]
    per_sync = BuildAll("build_all", _Dbt({n: f"model.p.{n}" for n in names.values()}), keys)
    per_sync.react(syncs)
    # One whole-project build per sync, even one that changed nothing; the second waits for
    # the first (the _Dbt stand-in's runs last 1.5 s).
    assert [run.trigger_s for run in per_sync.runs] == [901.0, 901.5]
    assert [run.start_s for run in per_sync.runs] == [901.0, 902.5]
    assert all(run.selection == "(all)" and run.builds == 2 for run in per_sync.runs)
    coalesced = BuildAllCoalesced(
        "build_all_coalesced", _Dbt({n: f"model.p.{n}" for n in names.values()}), keys
    )
    coalesced.react(syncs)
    coalesced.react([])
    [run] = coalesced.runs
    assert (run.trigger_s, run.builds) == (901.5, 2)
