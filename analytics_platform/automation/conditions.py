"""The declarative automation conditions: what the planner leaves to Dagster's conditions.

* staging views build when missing or when their SQL changes (a view reads its sources live,
  so new data never rebuilds it);
* tables and incrementals build once, when missing (a fresh warehouse), and after a view or
  table they read was rebuilt for its code; every rebuild caused by data is the planner's
  (:mod:`.planner_sensor`);
* reports with a ``cron`` policy run on that cron.
"""

from __future__ import annotations

import dagster as dg

from analytics_platform.automation.policy import Cron, Policy, policy_of


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


CONNECTOR_TABLES = dg.AssetSelection.kind("fivetran", include_sources=True)
"""What syncs land: their updates are the planner's, never the conditions'."""
FROM_CONDITIONS_TAG = "dagster/from_automation_condition"
"""Dagster's tag on the runs its condition sensor launches."""


def code_rebuilt_upstream() -> dg.AutomationCondition:
    """A dbt dependency was rebuilt by the conditions themselves, in a run without this asset.

    The conditions rebuild a view whose SQL changed and build missing tables; what reads them
    must follow, or it would keep the old logic until its next build on data. A rebuild on data
    (the planner's runs), a sync (connector tables) or a backfill is not this: data time decides
    those (:mod:`.planner_sensor`).
    """
    return (
        dg.AutomationCondition.any_deps_match(
            dg.AutomationCondition.newly_updated()
            & ~dg.AutomationCondition.executed_with_root_target()
            & dg.AutomationCondition.executed_with_tags(tag_values={FROM_CONDITIONS_TAG: "true"})
        )
        .ignore(CONNECTOR_TABLES)
        .with_label("a dbt upstream rebuilt for its code")
    )


def planned_condition(policy: Policy | None, is_partitioned: bool) -> dg.AutomationCondition:
    """A table's declarative condition: its cron, or its first build and code changes upstream.

    Rebuilds on data are the planner's; a never-built table (a fresh warehouse) is built once
    its deps exist (for a daily fact: its latest partition, once per partition), and a table
    over a view whose SQL changed is rebuilt after it (:func:`code_rebuilt_upstream`).
    """
    gates = (
        dg.AutomationCondition.in_latest_time_window()
        & ~deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
        & ~dg.AutomationCondition.execution_failed()
    )
    missing = partition_missing() if is_partitioned else dg.AutomationCondition.missing()
    first_build = missing & gates
    if isinstance(policy, Cron):
        # A fresh warehouse should not wait for the report's next cron tick (up to a day).
        return (cron_condition(policy.cron, policy.timezone) | first_build).with_label(
            f"on_cron({policy.cron}, {policy.timezone}) or first build"
        )
    code_changed = code_rebuilt_upstream().since_last_handled() & gates
    return (first_build | code_changed).with_label(
        "first build or code changed upstream (then the planner)"
    )


def with_planner_condition(spec: dg.AssetSpec) -> dg.AssetSpec:
    """A table declaring a cron policy gets its cron; the others keep the translator's.

    The translator gives every dbt table :func:`planned_condition` without a policy (a first
    build); a Python asset declares its own condition.
    """
    policy = policy_of(spec)
    if policy is None or spec.automation_condition is None:
        return spec
    condition = planned_condition(policy, spec.partitions_def is not None)
    return spec.replace_attributes(automation_condition=condition)
