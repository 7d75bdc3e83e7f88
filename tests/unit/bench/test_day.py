"""The day-in-the-life benchmark's accounting and strategy selection (``benchmarks.day``)."""

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from analytics_platform.automation.policy import Cron, Eager, Freshness, OnDemand
from benchmarks.day import (
    QUIET_S,
    SENSOR_INTERVAL_S,
    BuildAll,
    BuildAllCoalesced,
    DataTimes,
    Invocation,
    Lineage,
    Planner,
    Run,
    Sync,
    debounce,
    due_connectors,
    expected_landings,
    first_reflection,
    freshness_met,
    next_tick,
    percentile,
    replay_data_times,
    search_build_after,
    simulate,
    source_selectors,
    summarize,
    windows_met,
)
from benchmarks.day.eager import SYNC_QUIET_S
from benchmarks.day.eager import Eager as EagerStrategy
from benchmarks.day.sao import SEARCH_MARGIN_S

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


# ---------------------------------------------------------------------------------------------
# Lineage, data time, windows, sao's search, the planner strategy
# ---------------------------------------------------------------------------------------------

JOBS = dg.AssetKey(["fivetran", "jobs", "jobs"])
CRM = dg.AssetKey(["fivetran", "crm", "accounts"])
INT = dg.AssetKey(["intermediate", "int_jobs"])
FACT = dg.AssetKey(["marts", "core", "fct_jobs"])
DIM = dg.AssetKey(["marts", "core", "dim_customers"])
REPORT = dg.AssetKey(["marts", "executive", "rpt_summary"])
WARN = timedelta(minutes=30)


def _lineage() -> Lineage:
    """jobs -> int -> fct (eager, 10 min) and dim (freshness 30m, also reads crm) -> report."""
    return Lineage.build(
        [JOBS, CRM],
        {INT: [JOBS], FACT: [INT], DIM: [INT, CRM], REPORT: [DIM]},
        {
            INT: OnDemand(),
            FACT: Eager(),
            DIM: Freshness(WARN, timedelta(minutes=60)),
            REPORT: Cron("0 6 * * *", "America/New_York"),
        },
        {FACT: 600.0, DIM: WARN.total_seconds()},
    )


def test_lineage_orders_upstream_first_and_finds_sources_and_downstream() -> None:
    lineage = _lineage()
    order = list(lineage.order)
    assert order.index(INT) < order.index(FACT) and order.index(DIM) < order.index(REPORT)
    assert lineage.sources[DIM] == {JOBS, CRM} and lineage.sources[REPORT] == {JOBS, CRM}
    assert lineage.downstream([CRM]) == {DIM, REPORT}
    assert lineage.downstream([JOBS], past_cron=False) == {INT, FACT, DIM}


def test_a_build_over_a_stale_intermediate_does_not_reflect_the_sync() -> None:
    times = DataTimes(_lineage())
    times.land(JOBS, 905.0)
    times.land(CRM, 910.0)
    # The dim alone: its crm path is current, its jobs path (through int) is not.
    times.apply(920.0, 925.0, [DIM])
    assert times.current[DIM] == {JOBS: 0.0, CRM: 910.0}
    assert times.reflected_at(DIM, [CRM], 910.0) == 925.0
    assert times.reflected_at(DIM, [JOBS], 905.0) is None
    assert times.unreflected(DIM, 930.0)
    # A run reads what had landed when it started: the 1805 sync lands during it.
    times.land(JOBS, 1805.0)
    times.apply(1800.0, 1830.0, [INT, DIM, FACT])
    assert times.current[DIM] == {JOBS: 905.0, CRM: 910.0}
    assert times.reflected_at(DIM, [JOBS], 905.0) == 1830.0
    assert times.reflected_at(DIM, [JOBS], 1805.0) is None
    assert times.unreflected(FACT, 1830.0) and not times.unreflected(FACT, 1800.0)


def test_windows_met_counts_late_and_missing_pairs_and_leaves_undecided_out() -> None:
    pairs = [(0.0, 100.0, 600.0), (0.0, 700.0, 600.0), (100.0, None, 600.0), (900.0, None, 600.0)]
    # (100, None) is past its deadline at 1000: missed; (900, None) is not due yet: left out.
    assert windows_met(pairs, 1000.0) == pytest.approx(1 / 3)
    assert windows_met([(0.0, 600.0, 600.0)], 1000.0) == 1.0
    assert windows_met([(900.0, None, 600.0)], 1000.0) is None


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


def _sync(at: float, end: float, *tables: dg.AssetKey) -> Sync:
    return Sync("c", "s", at, end, tuple(dg.AssetMaterialization(t) for t in tables))


def test_summary_latency_is_per_eager_pair_and_windows_per_windowed_pair() -> None:
    lineage = _lineage()
    syncs = [_sync(900.0, 905.0, JOBS), _sync(1800.0, 1805.0, JOBS, CRM)]
    runs = [
        _run(910.0, 920.0, {INT, FACT}, 2),  # fct reflects sync 0 after 15 s
        _run(1810.0, 1830.0, {INT, FACT}, 2),  # fct reflects sync 1 after 25 s
        _run(3000.0, 3010.0, {INT, DIM}, 2),  # dim: sync 0 after 2105 s (late), sync 1 1205 s
    ]
    figures = summarize("x", runs, syncs, lineage, [1800.0, 2700.0, 3600.0], 3600.0)
    assert figures["x_builds"] == 6 and figures["x_runs"] == 3
    assert figures["x_latency_p50_s"] == pytest.approx(20.0)
    assert figures["x_latency_max_s"] == pytest.approx(25.0)
    # Pairs with a window: (0, fct), (0, dim), (1, fct), (1, dim): dim misses sync 0.
    assert figures["x_window_pairs"] == 4
    assert figures["x_windows_met"] == 0.75
    # The report (cron) never rebuilt: both syncs unreflected there.
    assert figures["x_unreflected"] == 2


def _late(
    times: DataTimes, mart: dg.AssetKey, syncs: Sequence[Sync], end: float, window: float = 1800
) -> list[Sync]:
    """Syncs the mart did not reflect within ``window`` (those whose deadline passed by end)."""
    return [
        s
        for s in syncs
        if s.end_s + window <= end
        and ((r := times.reflected_at(mart, s.changed, s.end_s)) is None or r - s.end_s > window)
    ]


def test_sao_search_finds_the_largest_build_after_that_keeps_the_window() -> None:
    mart = dg.AssetKey(["marts", "core", "fct_revenue"])
    lineage = Lineage.build(
        [JOBS], {mart: [JOBS]}, {mart: Freshness(WARN, 2 * WARN)}, {mart: WARN.total_seconds()}
    )
    # A sync every 15 minutes for four hours, lasting 5 s; runs last 1 s plus the node's 9 s.
    syncs = [_sync(900.0 * k, 900.0 * k + 5, JOBS) for k in range(1, 17)]
    end = 900.0 * 17
    values, builds = search_build_after(lineage, syncs, {mart: 9.0}, end)
    chosen = values[mart]
    times, simulated = simulate(lineage, values, syncs, {mart: 9.0}, end)
    assert simulated == builds
    # Every sync reflected a margin (the planner's) before its deadline ...
    assert not _late(times, mart, syncs, end, 1800 - SEARCH_MARGIN_S)
    # ... and one candidate (a minute) more would eat into that margin.
    times, _ = simulate(lineage, {mart: chosen + 60.0}, syncs, {mart: 9.0}, end)
    assert _late(times, mart, syncs, end, 1800 - SEARCH_MARGIN_S)
    # Waiting saves builds: fewer than one per sync (a build right after a sync catches it
    # and the one before, so the gap may pass the window by less than a cadence).
    assert 900.0 < chosen < 1800.0 + 900.0
    assert builds < len(syncs)


def test_sao_builds_a_model_only_with_new_upstream_data_and_its_build_after_passed() -> None:
    lineage = _lineage()
    values = {INT: 0.0, FACT: 0.0, DIM: 1200.0}
    syncs = [_sync(900.0, 905.0, JOBS), _sync(1800.0, 1805.0, CRM)]
    times, builds = simulate(lineage, values, syncs, {}, 2700.0)
    # The jobs sync: int and fct at its release; dim waits until 1200 s after the day's start,
    # and for the crm sync, 1200 s after its own last build (not after the sync).
    assert [end for end, _ in times.history[FACT]] == [905.0 + QUIET_S + 1.0]
    assert [end for end, _ in times.history[DIM]] == [1201.0, 2401.0]
    # The crm sync reaches only the dim (and the cron report, which sao leaves to its cron).
    assert len(times.history[INT]) == 1 and REPORT not in times.history
    assert builds == 4


def test_expected_landings_follow_each_connectors_cadence_and_offset() -> None:
    found = expected_landings(
        1000.0,
        {"jobs": 15, "crm": 60, "off": 0},
        {"jobs": 8.0, "crm": 20.0},
        {"jobs": [JOBS], "crm": [CRM], "off": [INT]},
    )
    assert found == {JOBS: 1808.0, CRM: 3620.0}
    # Right after a landing, the next one is a whole cadence away.
    assert expected_landings(908.0, {"jobs": 15}, {"jobs": 8.0}, {"jobs": [JOBS]}) == {JOBS: 1808.0}


def _names(lineage: Lineage) -> dict[dg.AssetKey, str]:
    return {key: key.path[-1] for key in lineage.order}


def test_planner_builds_eager_at_once_and_batches_freshness_syncs_before_the_deadline() -> None:
    lineage = _lineage()
    names = _names(lineage)
    keys = {f"model.p.{name}": key for key, name in names.items()}
    dbt = _Dbt({name: f"model.p.{name}" for name in names.values()})
    planner = Planner(
        "planner",
        dbt,  # type: ignore[arg-type]
        keys,
        names=names,
        lineage=lineage,
        frequencies={"jobs": 15},
        tables_of={"jobs": [JOBS]},
    )
    released = 905.0 + QUIET_S
    for tick in range(1, 5):
        at = 900.0 * tick
        planner.react(
            [Sync("jobs", "jobs", at, at + 5, (dg.AssetMaterialization(JOBS),))], at + 900
        )
    runs = planner.runs
    # Every sync: the eager fact (and the int it reads) at the first planner tick after release.
    fact_runs = [run for run in runs if FACT in run.built]
    assert len(fact_runs) == 4
    assert fact_runs[0].start_s == next_tick(released, planner.tick_s)
    assert {INT, FACT} <= fact_runs[0].built and DIM not in fact_runs[0].built
    # The dim (30 min window) absorbs more than one sync per build, yet meets every window.
    dim_runs = [run for run in runs if DIM in run.built]
    assert 1 <= len(dim_runs) < 4
    assert planner.times is not None
    for k in range(1, 3):
        reflected = planner.times.reflected_at(DIM, [JOBS], 900.0 * k + 5)
        assert reflected is not None and reflected - (900.0 * k + 5) <= WARN.total_seconds()
    # Its bookkeeping: the dim holds the newest sync landed when its last run started.
    last = dim_runs[-1]
    assert planner.times.current[DIM][JOBS] == max(
        900.0 * k + 5 for k in range(1, 5) if 900.0 * k + 5 <= last.start_s
    )
    # Build times are learned from its runs (the stand-in's 1.5 s), not the 60 s default.
    assert planner.states()[FACT].expected_build_s == pytest.approx(1.5)
    assert REPORT not in planner.states()


def test_eager_runs_everything_downstream_once_per_batch_but_not_the_cron_report() -> None:
    lineage = _lineage()
    names = _names(lineage)
    keys = {f"model.p.{name}": key for key, name in names.items()}
    eager = EagerStrategy(
        "eager",
        _Dbt({name: f"model.p.{name}" for name in names.values()}),  # type: ignore[arg-type]
        keys,
        names=names,
        lineage=lineage,
    )
    eager.react([_sync(900.0, 901.2, JOBS), _sync(901.2, 903.0, CRM)], 1800.0)
    [run] = eager.runs
    assert run.built == frozenset({INT, FACT, DIM})
    assert run.start_s == next_tick(903.0 + QUIET_S + SYNC_QUIET_S, SENSOR_INTERVAL_S)
    eager.react([_sync(1800.0, 1801.0)], 2700.0)  # changed nothing
    assert len(eager.runs) == 1


def test_replayed_data_times_match_live_bookkeeping() -> None:
    lineage = _lineage()
    syncs = [(905.0, [JOBS]), (1805.0, [JOBS, CRM])]
    runs = [(1800.0, 1810.0, [INT, FACT, DIM]), (910.0, 920.0, [INT, FACT])]
    times = replay_data_times(lineage, syncs, runs)
    # Runs are applied in time order whatever order they are given in.
    assert times.history[FACT][0] == (920.0, {JOBS: 905.0})
    assert times.current[DIM] == {JOBS: 905.0, CRM: 0.0}


def test_the_report_draws_the_five_strategies_and_the_timeline(tmp_path: Path) -> None:
    from benchmarks.report import day_strategies, draw, headline

    names = ("build_all", "source_plus", "eager", "sao", "planner")
    data: dict[str, object] = {f"{n}_builds": 100 - 10 * i for i, n in enumerate(names)}
    data |= {f"{n}_windows_met": 1.0 for n in names} | {"automation_builds": 80}
    data["planner_windows_met"] = 0.995
    data["timeline"] = {
        "fct_jobs": {
            "syncs": [905.0, 1805.0],
            "warn_s": 1800.0,
            **{n: {"builds": [920.0], "reflected": [920.0, None]} for n in names},
        }
    }
    # ``automation`` is eager's old name: drawn only when there is no eager.
    assert day_strategies(data) == list(names)
    text = headline("day", data)
    assert (
        "builds (build_all / source_plus / eager / sao / planner) 100 / 90 / 80 / 70 / 60" in text
    )
    assert "100.0 % / 100.0 % / 100.0 % / 100.0 % / 99.5 %" in text
    path = draw("day", data, tmp_path / "day.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_lineage_from_specs_resolves_views_and_reads_each_dbt_tables_policy_and_window() -> None:
    from analytics_platform.automation.policy import POLICY_METADATA_KEY

    def dbt_spec(
        key: dg.AssetKey, deps: list[dg.AssetKey], policy: str | None, **kw: object
    ) -> dg.AssetSpec:
        metadata = {POLICY_METADATA_KEY: policy} if policy else {}
        return dg.AssetSpec(key, deps=deps, kinds={"dbt"}, metadata=metadata, **kw)  # type: ignore[arg-type]

    view = dg.AssetKey(["staging", "stg_jobs"])
    python_mart = dg.AssetKey(["marts", "ops", "savings"])
    specs = [
        dg.AssetSpec(JOBS, kinds={"fivetran"}),
        dbt_spec(view, [JOBS], None, group_name="staging"),
        dbt_spec(INT, [view], "on_demand"),
        dbt_spec(
            FACT,
            [INT],
            "eager",
            freshness_policy=dg.FreshnessPolicy.time_window(
                fail_window=timedelta(minutes=60), warn_window=timedelta(minutes=10)
            ),
        ),
        dbt_spec(DIM, [INT, view], "freshness: 30m/60m"),
        dg.AssetSpec(python_mart, deps=[FACT], metadata={POLICY_METADATA_KEY: "freshness: 1h/2h"}),
    ]
    lineage = Lineage.from_specs(specs)
    assert set(lineage.order) == {
        INT,
        FACT,
        DIM,
    }  # the view is read through; Python assets left out
    assert lineage.reads[DIM] == {INT, JOBS} and lineage.sources[FACT] == {JOBS}
    assert lineage.warn_s == {FACT: 600.0, DIM: 1800.0}
    assert lineage.fail_s == {FACT: 3600.0}
