"""Automation conditions over simulated time (DagsterInstance.ephemeral + evaluate)."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg

from analytics_platform.automation import (
    AssetState,
    reads_through_views,
    stale_roots,
    table_condition,
    view_condition,
)

SOURCE = dg.AssetKey(["fivetran", "fivetran_jobs", "jobs"])
OTHER_SOURCE = dg.AssetKey(["fivetran", "fivetran_crm", "account"])
VIEW = dg.AssetKey(["staging", "stg_jobs"])
OTHER_VIEW = dg.AssetKey(["staging", "stg_accounts"])
TABLE = dg.AssetKey(["intermediate", "int_jobs"])
MART = dg.AssetKey(["marts", "core", "fct_jobs"])


def _graph() -> dg.Definitions:
    @dg.asset(key=VIEW, deps=[SOURCE], group_name="staging", automation_condition=view_condition())
    def view() -> None: ...

    @dg.asset(
        key=OTHER_VIEW,
        deps=[OTHER_SOURCE],
        group_name="staging",
        automation_condition=view_condition(),
    )
    def other_view() -> None: ...

    @dg.asset(key=TABLE, deps=[VIEW], automation_condition=table_condition())
    def table() -> None: ...

    @dg.asset(key=MART, deps=[TABLE, OTHER_VIEW], automation_condition=table_condition())
    def mart() -> None: ...

    return dg.Definitions(
        assets=[
            dg.AssetSpec(SOURCE, kinds={"fivetran"}),
            dg.AssetSpec(OTHER_SOURCE, kinds={"fivetran"}),
            view,
            other_view,
            table,
            mart,
        ]
    )


def _requested(result: dg.EvaluateAutomationConditionsResult) -> set[dg.AssetKey]:
    return {key for key in (VIEW, OTHER_VIEW, TABLE, MART) if result.get_num_requested(key)}


def test_conditions_leave_syncs_to_the_sync_sensor_and_rebuild_on_dbt_updates() -> None:
    defs = _graph()
    instance = dg.DagsterInstance.ephemeral()
    now = dt.datetime(2026, 3, 1, 12, 0)
    for key in (SOURCE, OTHER_SOURCE):
        instance.report_runless_asset_event(dg.AssetMaterialization(key))

    # First tick: everything is missing while its sources exist -> the whole chain is built
    # (one request; later members wait on the earlier ones inside the run).
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=now)
    assert _requested(result) == {VIEW, OTHER_VIEW, TABLE, MART}
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    dg.materialize(assets, instance=instance)
    result = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=result.cursor, evaluation_time=now
    )
    assert _requested(result) == set()

    # A sync of the jobs source is the sync sensor's single run: the conditions ask nothing,
    # or the same tables would build twice.
    instance.report_runless_asset_event(dg.AssetMaterialization(SOURCE))
    result = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=result.cursor, evaluation_time=now
    )
    assert _requested(result) == set()

    # A view rebuilt outside a sync (its SQL changed): the tables over it rebuild, in order,
    # and the views themselves do not.
    dg.materialize(assets, instance=instance, selection=[VIEW])
    result = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=result.cursor, evaluation_time=now
    )
    assert _requested(result) == {TABLE, MART}
    dg.materialize(assets, instance=instance, selection=[TABLE, MART])
    result = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=result.cursor, evaluation_time=now
    )
    assert _requested(result) == set()

    # A table materialized by hand (from the UI): only what reads it rebuilds.
    dg.materialize(assets, instance=instance, selection=[TABLE])
    result = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=result.cursor, evaluation_time=now
    )
    assert _requested(result) == {MART}


def test_reads_resolve_views_to_their_sources() -> None:
    specs = [
        dg.AssetSpec(VIEW, deps=[SOURCE]),
        dg.AssetSpec(OTHER_VIEW, deps=[OTHER_SOURCE]),
        dg.AssetSpec(TABLE, deps=[VIEW]),
        dg.AssetSpec(MART, deps=[TABLE, OTHER_VIEW]),
    ]
    reads = reads_through_views(specs, views={VIEW, OTHER_VIEW})
    assert reads[TABLE] == sorted([SOURCE, VIEW], key=str)
    assert set(reads[MART]) == {TABLE, OTHER_VIEW, OTHER_SOURCE}
    assert VIEW not in reads and OTHER_VIEW not in reads


def test_stale_roots_catch_an_update_that_landed_during_the_run() -> None:
    reads = {TABLE: [SOURCE], MART: [TABLE]}
    # The table's run started at t=100 and finished at t=130; the source synced again at t=110.
    states = {
        SOURCE: AssetState(last_update=110, last_run_start=None),
        TABLE: AssetState(last_update=130, last_run_start=100, run_id="r1"),
        MART: AssetState(last_update=131, last_run_start=100, run_id="r1"),
    }
    # The mart is stale only through the table: rebuild the root, not both.
    assert stale_roots(reads, states, active=[]) == [TABLE]
    # While a run for the table is queued or running, nothing more is requested.
    assert stale_roots(reads, states, active=[TABLE]) == []
    # An update younger than the grace period is eager's: the net does not race it.
    assert stale_roots(reads, states, active=[], settled_before=109) == []
    assert stale_roots(reads, states, active=[], settled_before=110) == [TABLE]
    # ... nor while a chain of runs is still passing a change down: the mart reads the source
    # (stale since t=110) and a table that its own run just rebuilt.
    reads = {MART: [SOURCE, TABLE]}
    states = {
        SOURCE: AssetState(last_update=110, last_run_start=None),
        TABLE: AssetState(last_update=170, last_run_start=150, run_id="r2"),
        MART: AssetState(last_update=131, last_run_start=100, run_id="r1"),
    }
    assert stale_roots(reads, states, active=[], settled_before=160) == []
    assert stale_roots(reads, states, active=[], settled_before=170) == [MART]


def test_stale_roots_ignore_updates_read_in_the_same_run_and_older_ones() -> None:
    reads = {TABLE: [SOURCE], MART: [TABLE]}
    states = {
        SOURCE: AssetState(last_update=90, last_run_start=None),
        TABLE: AssetState(last_update=120, last_run_start=100, run_id="r1"),
        MART: AssetState(last_update=125, last_run_start=100, run_id="r1"),
    }
    assert stale_roots(reads, states, active=[]) == []
    # A mart built in a later run than its table is current too.
    states[MART] = AssetState(last_update=200, last_run_start=150, run_id="r2")
    assert stale_roots(reads, states, active=[]) == []
    # ... unless the table was rebuilt after the mart's run started.
    states[TABLE] = AssetState(last_update=210, last_run_start=205, run_id="r3")
    assert stale_roots(reads, states, active=[]) == [MART]


def test_child_of_a_partitioned_fact_builds_once_its_latest_partition_exists() -> None:
    """Automation builds a fact's latest partition only; the history is a backfill's job.

    Vanilla ``any_deps_missing()`` counts every unbuilt historical partition as a missing
    dependency, so a report over the fact would never get its first build (seen under the
    daemon: ``pipeline_status`` and the executive reports stayed missing forever).
    """
    daily = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC")
    fact = dg.AssetKey(["marts", "core", "fct_daily"])
    report = dg.AssetKey(["marts", "executive", "rpt_daily"])

    @dg.asset(key=fact, deps=[SOURCE], partitions_def=daily, automation_condition=table_condition())
    def fact_asset() -> None: ...

    @dg.asset(key=report, deps=[fact], automation_condition=table_condition())
    def report_asset() -> None: ...

    defs = dg.Definitions(assets=[dg.AssetSpec(SOURCE), fact_asset, report_asset])
    instance = dg.DagsterInstance.ephemeral()
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    instance.report_runless_asset_event(dg.AssetMaterialization(SOURCE))
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=now)
    assert result.get_num_requested(fact) == 1  # the latest partition only
    assert result.get_requested_partitions(fact) == {"2026-02-28"}
    dg.materialize([fact_asset], instance=instance, partition_key="2026-02-28")

    result = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=result.cursor, evaluation_time=now
    )
    assert result.get_num_requested(report) == 1
    assert result.get_num_requested(fact) == 0


def test_a_change_through_a_partitioned_fact_builds_every_asset_once_in_order() -> None:
    """Under the conditions a fact's run is a run of its own (its partition): neighbours wait.

    Without that, a table and the fact it feeds are requested in the same tick (two runs in
    any order: the fact may read the old table and build again), and a report that reads
    both the fact and an independently synced table builds before the fact and after it.
    """
    daily = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC")
    fact = dg.AssetKey(["marts", "core", "fct_daily"])
    report = dg.AssetKey(["marts", "ops", "rpt_status"])
    partitioned = dg.AssetSelection.assets(fact)

    @dg.asset(key=VIEW, deps=[SOURCE], group_name="staging", automation_condition=view_condition())
    def view() -> None: ...

    @dg.asset(
        key=OTHER_VIEW,
        deps=[OTHER_SOURCE],
        group_name="staging",
        automation_condition=view_condition(),
    )
    def other_view() -> None: ...

    @dg.asset(key=TABLE, deps=[VIEW], automation_condition=table_condition(partitioned))
    def table() -> None: ...

    @dg.asset(
        key=fact,
        deps=[TABLE, VIEW],
        partitions_def=daily,
        automation_condition=table_condition(partitioned, is_partitioned=True),
    )
    def fact_asset() -> None: ...

    @dg.asset(
        key=report, deps=[fact, OTHER_VIEW], automation_condition=table_condition(partitioned)
    )
    def report_asset() -> None: ...

    defs = dg.Definitions(
        assets=[
            dg.AssetSpec(SOURCE),
            dg.AssetSpec(OTHER_SOURCE),
            view,
            other_view,
            table,
            fact_asset,
            report_asset,
        ]
    )
    instance = dg.DagsterInstance.ephemeral()
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    latest = "2026-02-28"
    for key in (SOURCE, OTHER_SOURCE):
        instance.report_runless_asset_event(dg.AssetMaterialization(key))
    dg.materialize([view, other_view, table, report_asset], instance=instance)
    dg.materialize([fact_asset], instance=instance, partition_key=latest)
    dg.materialize([report_asset], instance=instance)
    cursor = None

    def tick() -> set[dg.AssetKey]:
        nonlocal cursor
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=cursor, evaluation_time=now
        )
        cursor = result.cursor
        return {
            key for key in (VIEW, OTHER_VIEW, TABLE, fact, report) if result.get_num_requested(key)
        }

    assert tick() == set()  # settled
    # Both views' SQL changed and they rebuilt (syncs are the sync sensor's, not tested here).
    dg.materialize([view, other_view], instance=instance)
    assert tick() == {TABLE}  # the fact waits for the table; the report waits for the fact
    dg.materialize([table], instance=instance)
    assert tick() == {fact}
    dg.materialize([fact_asset], instance=instance, partition_key=latest)
    assert tick() == {report}
    dg.materialize([report_asset], instance=instance)
    assert tick() == set()
    assert tick() == set()


def test_a_partitioned_fact_whose_build_changed_no_day_is_not_requested_again() -> None:
    """A fact reports the days its build changed, so its latest partition may stay missing.

    The first-build clause then asks for that partition once, not on every tick (a run loop),
    and asks again when a new day turns into the latest partition.
    """
    daily = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC")
    fact = dg.AssetKey(["marts", "core", "fct_daily"])

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                fact,
                deps=[SOURCE],
                partitions_def=daily,
                skippable=True,
                automation_condition=table_condition(
                    dg.AssetSelection.assets(fact), is_partitioned=True
                ),
            )
        ],
        can_subset=True,
    )
    def fact_asset() -> Iterator[dg.AssetMaterialization]:
        yield from ()  # a build that changed no row: nothing to report

    defs = dg.Definitions(assets=[dg.AssetSpec(SOURCE), fact_asset])
    instance = dg.DagsterInstance.ephemeral()
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=now)
    assert result.get_num_requested(fact) == 0  # its source is missing: wait
    instance.report_runless_asset_event(dg.AssetMaterialization(SOURCE))
    requested = []
    for minute in range(1, 5):
        result = dg.evaluate_automation_conditions(
            defs=defs,
            instance=instance,
            cursor=result.cursor,
            evaluation_time=now + dt.timedelta(minutes=minute),
        )
        if result.get_num_requested(fact):
            requested.append(result.get_requested_partitions(fact))
            dg.materialize([fact_asset], instance=instance, partition_key="2026-02-28")
    assert requested == [{"2026-02-28"}]
    assert instance.get_latest_materialization_event(fact) is None

    result = dg.evaluate_automation_conditions(
        defs=defs,
        instance=instance,
        cursor=result.cursor,
        evaluation_time=now + dt.timedelta(days=1),
    )
    assert result.get_requested_partitions(fact) == {"2026-03-01"}
