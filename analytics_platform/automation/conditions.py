"""The declarative automation conditions that the translator gives each dbt asset.

* staging views rebuild only when missing or when their SQL changes;
* tables and incrementals rebuild when a dbt upstream updates outside a sync's run (a
  materialization from the UI, a code change upstream), and are built when missing;
* reports with a schedule (``meta.dagster.cron``) run on that cron.

Updates of connector tables are ignored here: a sync's rebuild is the sync sensor's one run.
"""

from __future__ import annotations

import dagster as dg

from analytics_platform.automation.policy import Cron, Policy, policy_of
from analytics_platform.automation.selection import CONNECTOR_TABLES, STAGING_VIEWS


def upstream_updated() -> dg.AutomationCondition:
    """A dbt dependency updated, or a staging view's dbt source did (views pass data through).

    Connector tables are ignored: a sync's rebuild is the sync sensor's single run, and an
    eager reaction to the same report would build the same tables a second time.
    """
    updated = dg.AutomationCondition.any_deps_updated().ignore(CONNECTOR_TABLES)
    through_views = dg.AutomationCondition.any_deps_match(updated).allow(STAGING_VIEWS)
    return (updated | through_views).with_label("a dbt upstream updated (through views)")


def deps_missing() -> dg.AutomationCondition:
    """A dependency (its latest partition, for a partitioned one) is missing and not requested.

    ``any_deps_missing()`` counts every unbuilt partition of a partitioned dependency, and
    automation only ever builds a fact's latest partition (history is a backfill's job), so a
    report over a daily fact would wait forever for its first build.
    """
    return dg.AutomationCondition.any_deps_match(
        dg.AutomationCondition.missing()
        & dg.AutomationCondition.in_latest_time_window()
        & ~dg.AutomationCondition.will_be_requested()
    ).with_label("any deps missing (latest partition)")


def waits_for_another_run(
    partitioned: dg.AssetSelection | None, is_partitioned: bool
) -> dg.AutomationCondition:
    """An update is on its way through a dependency that builds in a run of its own.

    Automation puts everything requested in one tick into one run *per partition*, so a daily
    fact never shares a run with the unpartitioned tables around it. Requested in the same
    tick, the two runs could go in any order (the fact reading the old table, then building
    again), and a report over both a fact and an independently synced table would build once
    before the fact and once after it. So an asset waits while a dependency that builds in
    another run has an upstream update it has not handled yet (``will_be_requested`` cannot
    say this: it only sees requests that share the asking asset's run):

    * a partitioned asset waits for its table dependencies (views never rebuild on updates);
    * an unpartitioned one waits for its partitioned dependencies.
    """
    pending = (
        dg.AutomationCondition.in_latest_time_window() & upstream_updated().since_last_handled()
    )
    if is_partitioned:
        return (
            dg.AutomationCondition.any_deps_match(pending)
            .ignore(STAGING_VIEWS)
            .with_label("a table it reads is about to rebuild")
        )
    if partitioned is None:
        return dg.AutomationCondition.any_deps_match(pending).allow(dg.AssetSelection.assets())
    return (
        dg.AutomationCondition.any_deps_match(pending)
        .allow(partitioned)
        .with_label("a partitioned fact it reads is about to rebuild")
    )


def table_condition(
    partitioned: dg.AssetSelection | None = None, is_partitioned: bool = False
) -> dg.AutomationCondition:
    """Eager over updates seen through views, plus a first build of missing tables.

    The first-build clause exists because ``eager()`` never builds a never-materialized asset
    whose upstream already existed when the condition was first evaluated. For a partitioned
    fact it asks once per partition (:func:`partition_missing`).

    Args:
        partitioned: the partitioned assets of the graph (they build in runs of their own).
        is_partitioned: whether this asset is one of them.
    """
    waits = waits_for_another_run(partitioned, is_partitioned)
    eager_through_views = (
        dg.AutomationCondition.in_latest_time_window()
        & (dg.AutomationCondition.newly_missing() | upstream_updated()).since_last_handled()
        & ~deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
        & ~waits
    ).with_label("eager (through views)")
    first_build = (
        dg.AutomationCondition.in_latest_time_window()
        & (partition_missing() if is_partitioned else dg.AutomationCondition.missing())
        & ~deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
        & ~dg.AutomationCondition.execution_failed()
        & ~waits
    ).with_label("first build")
    return (eager_through_views | first_build).with_label("table: upstream updated or missing")


def partition_missing() -> dg.AutomationCondition:
    """A partition that has been missing since it was last requested or built: asked for once.

    A partitioned fact reports the days whose rows a build changed, so its latest partition
    can stay missing after a successful build (a day on which nothing changed). Plain
    ``missing()`` would then request the same build on every tick; this asks again only when
    the partition newly turns missing (a new day, or its first evaluation).
    """
    return (
        dg.AutomationCondition.missing()
        .newly_true()
        .since(dg.AutomationCondition.newly_requested() | dg.AutomationCondition.newly_updated())
        .with_label("missing (once per partition)")
    )


def view_condition() -> dg.AutomationCondition:
    """Views: build when missing or when their code version (the SQL checksum) changes."""
    return (
        (
            dg.AutomationCondition.missing()
            | dg.AutomationCondition.code_version_changed().since_last_handled()
        )
        & ~deps_missing()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("view: missing or code changed")


def cron_condition(cron: str, timezone: str) -> dg.AutomationCondition:
    """Scheduled reports: once per cron tick, after their upstreams updated since the tick."""
    return dg.AutomationCondition.on_cron(cron, timezone)


def planned_condition(policy: Policy | None, is_partitioned: bool) -> dg.AutomationCondition:
    """A planned asset's declarative condition in planner mode: its first build only.

    Rebuilds on data are the planner's; a never-built table (a fresh warehouse) is built once
    its deps exist; a cron report keeps its cron.
    """
    if isinstance(policy, Cron):
        return dg.AutomationCondition.on_cron(policy.cron, policy.timezone)
    return (
        dg.AutomationCondition.in_latest_time_window()
        & (partition_missing() if is_partitioned else dg.AutomationCondition.missing())
        & ~deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
        & ~dg.AutomationCondition.execution_failed()
    ).with_label("first build (then the planner)")


def with_planner_condition(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Planner mode: planned tables and cron reports get :func:`planned_condition`."""
    policy = policy_of(spec)
    if policy is None or spec.automation_condition is None:
        return spec
    condition = planned_condition(policy, spec.partitions_def is not None)
    return spec.replace_attributes(automation_condition=condition)
