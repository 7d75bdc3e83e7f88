"""The declarative conditions over simulated time (DagsterInstance.ephemeral + evaluate).

They keep what is not about data: first builds, views whose SQL changed and what reads them,
crons. Rebuilds on data are the planner's (tests/unit/automation/test_planner*.py).
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg

from analytics_platform.automation.conditions import (
    FROM_CONDITIONS_TAG,
    planned_condition,
    view_condition,
)
from analytics_platform.automation.planner_sensor import PLANNER_TRIGGER
from analytics_platform.automation.policy import Cron
from analytics_platform.automation.selection import TRIGGER_TAG

BY_CONDITIONS = {FROM_CONDITIONS_TAG: "true"}
BY_PLANNER = {TRIGGER_TAG: PLANNER_TRIGGER}


def table_condition(is_partitioned: bool = False) -> dg.AutomationCondition:
    return planned_condition(None, is_partitioned)


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


def test_conditions_build_first_and_follow_code_changes_but_leave_data_to_the_planner() -> None:
    defs = _graph()
    instance = dg.DagsterInstance.ephemeral()
    now = dt.datetime(2026, 3, 1, 12, 0)
    for key in (SOURCE, OTHER_SOURCE):
        instance.report_runless_asset_event(dg.AssetMaterialization(key))

    def tick(cursor: object) -> tuple[set[dg.AssetKey], object]:
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=cursor, evaluation_time=now
        )
        return _requested(result), result.cursor

    # First tick: everything is missing while its sources exist -> the whole chain is built
    # (one request; later members wait on the earlier ones inside the run).
    requested, cursor = tick(None)
    assert requested == {VIEW, OTHER_VIEW, TABLE, MART}
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    dg.materialize(assets, instance=instance, tags=BY_CONDITIONS)
    requested, cursor = tick(cursor)
    assert requested == set()

    # A sync of the jobs source, a planner run, a table built by hand: all data, all the
    # planner's (data time), none of the conditions'.
    instance.report_runless_asset_event(dg.AssetMaterialization(SOURCE))
    assert tick(cursor)[0] == set()
    dg.materialize(assets, instance=instance, selection=[TABLE], tags=BY_PLANNER)
    requested, cursor = tick(cursor)
    assert requested == set()
    dg.materialize(assets, instance=instance, selection=[TABLE])
    requested, cursor = tick(cursor)
    assert requested == set()

    # A view rebuilt by the conditions (its SQL changed): the table over it follows, then what
    # reads that table; the views themselves do not rebuild.
    dg.materialize(assets, instance=instance, selection=[VIEW], tags=BY_CONDITIONS)
    requested, cursor = tick(cursor)
    assert requested == {TABLE}
    dg.materialize(assets, instance=instance, selection=[TABLE], tags=BY_CONDITIONS)
    requested, cursor = tick(cursor)
    assert requested == {MART}
    dg.materialize(assets, instance=instance, selection=[MART], tags=BY_CONDITIONS)
    requested, cursor = tick(cursor)
    assert requested == set()


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
                automation_condition=table_condition(is_partitioned=True),
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


def test_a_cron_report_is_built_when_missing_then_only_on_its_cron() -> None:
    """A fresh warehouse gets the report at once, not at its next cron tick (up to a day)."""
    report = dg.AssetKey(["marts", "executive", "rpt_daily"])
    condition = planned_condition(Cron("0 6 * * *", "UTC"), is_partitioned=False)

    @dg.asset(key=report, deps=[SOURCE], automation_condition=condition)
    def report_asset() -> None: ...

    defs = dg.Definitions(assets=[dg.AssetSpec(SOURCE), report_asset])
    instance = dg.DagsterInstance.ephemeral()
    instance.report_runless_asset_event(dg.AssetMaterialization(SOURCE))
    noon = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=noon)
    assert result.get_num_requested(report) == 1  # missing: built now
    dg.materialize([report_asset], instance=instance)
    cursor = result.cursor
    requested = []
    for hour in range(1, 20):  # through the next 06:00
        at = noon + dt.timedelta(hours=hour)
        instance.report_runless_asset_event(dg.AssetMaterialization(SOURCE))
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=cursor, evaluation_time=at
        )
        cursor = result.cursor
        if result.get_num_requested(report):
            requested.append(at.hour)
            dg.materialize([report_asset], instance=instance)
    assert requested == [6]  # new data all afternoon and night: only the cron builds it
