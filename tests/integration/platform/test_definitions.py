"""The code location against a live local Fivetran: one graph, no gaps, layered policies."""

import importlib
import warnings
from collections.abc import Iterator

import dagster as dg
import pytest
from testkit.stack import API_KEY, API_SECRET, Stack

from analytics_platform.automation import REBUILD_TAG
from analytics_platform.automation.planner_sensor import planner_graph


@pytest.fixture(scope="module")
def defs(shared_stack: Stack) -> Iterator[dg.Definitions]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ENVIRONMENT", "local")
        env.setenv("FIVETRAN_API_BASE_URL", shared_stack.api_url)
        env.setenv("FIVETRAN_API_KEY", API_KEY)
        env.setenv("FIVETRAN_API_SECRET", API_SECRET)
        env.setenv("FIELDFORCE_WAREHOUSE_PATH", str(shared_stack.warehouse))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = importlib.import_module("analytics_platform.definitions")
            yield module.build_defs()


def test_one_lineage_graph_from_every_landed_table_to_the_marts(defs: dg.Definitions) -> None:
    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
    deps = {dep.asset_key for spec in specs.values() for dep in spec.deps}
    # No dependency points at an asset the graph does not define ...
    assert deps <= set(specs)
    # ... and every landed table (all tenants included) feeds something.
    landed = {key for key in specs if key.path[0] == "fivetran"}
    assert {key for key in landed if key not in deps} == set()
    jobs_deps = {dep.asset_key for dep in specs[dg.AssetKey(["staging", "stg_jobs__jobs"])].deps}
    assert jobs_deps == {
        dg.AssetKey(["fivetran", f"fivetran_postgres_{tenant}", "jobs"])
        for tenant in ("bu_north", "bu_south")
    }
    # Excluded tables never become assets.
    assert dg.AssetKey(["fivetran", "fivetran_salesforce", "case"]) not in specs
    groups = {spec.group_name for spec in specs.values()}
    assert {"staging", "intermediate", "marts_core", "marts_finance", "snapshots"} <= groups
    assert {g for g in groups if g and g.startswith("ingest_")} >= {
        "ingest_fivetran_postgres_bu_north",
        "ingest_fivetran_salesforce",
        "ingest_fivetran_platform",
    }
    assert "default" not in groups


def test_layers_carry_their_automation_freshness_and_partitions(defs: dg.Definitions) -> None:
    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
    for key, spec in specs.items():
        label = spec.automation_condition.get_label() if spec.automation_condition else None
        if spec.group_name == "staging":
            assert label == "view: missing or code changed", key
        elif key.path[0] in ("intermediate", "marts"):
            assert label and ("first build" in label or "on_cron" in label), key
    fct_jobs = specs[dg.AssetKey(["marts", "core", "fct_jobs"])]
    assert isinstance(fct_jobs.partitions_def, dg.DailyPartitionsDefinition)
    assert fct_jobs.freshness_policy is not None
    assert specs[dg.AssetKey(["marts", "core", "dim_date"])].freshness_policy is None
    sensors = {sensor.name: sensor for sensor in defs.sensors}
    # One decider of rebuilds on data; the conditions keep first builds, code changes, crons.
    assert {"automation__planner", "dbt__automation_sensor"} <= set(sensors)
    assert not {"automation__sync_sensor", "automation__catch_up_sensor"} & set(sensors)
    for key, spec in specs.items():
        if key.path[0] in ("intermediate", "marts", "snapshots"):
            assert spec.tags.get(REBUILD_TAG) in ("upstream", "cron"), key
        elif spec.group_name == "staging":
            assert spec.tags.get(REBUILD_TAG) == "code", key
    # A sync of one tenant's jobs makes its tables and facts stale, never a view ...
    graph = planner_graph(list(specs.values()))
    north = dg.AssetKey(["fivetran", "fivetran_postgres_bu_north", "jobs"])
    north_jobs = {key for key, sources in graph.sources.items() if north in sources}
    assert dg.AssetKey(["marts", "core", "fct_jobs"]) in north_jobs
    assert all(specs[key].group_name != "staging" for key in north_jobs)
    # ... as one step, one dbt build: the facts' partitions sit on their specs, not on a
    # multi-asset of their own that Dagster would order between two pieces of the models.
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=set(north_jobs))
    assert [node.name for node in job.graph.nodes] == ["dbt_fieldforce"]
    assert all(
        sensor.default_status == dg.DefaultSensorStatus.RUNNING for sensor in sensors.values()
    )


def test_a_missing_credential_fails_naming_the_variable(shared_stack: Stack) -> None:
    from analytics_platform.ingest.assets import build_defs
    from analytics_platform.settings import load_settings

    with pytest.MonkeyPatch.context() as env:
        env.setenv("FIVETRAN_API_BASE_URL", shared_stack.api_url)
        env.delenv("FIVETRAN_API_KEY", raising=False)
        env.setenv("FIVETRAN_API_SECRET", API_SECRET)
        with pytest.raises(Exception, match="FIVETRAN_API_KEY"):
            build_defs(load_settings())


def _describe(spec: dg.AssetSpec) -> dict[str, object]:
    policy = spec.freshness_policy
    condition = spec.automation_condition
    return {
        "key": spec.key.to_user_string(),
        "group": spec.group_name,
        "deps": sorted(dep.asset_key.to_user_string() for dep in spec.deps),
        "kinds": sorted(spec.kinds),
        "owners": sorted(spec.owners),
        "automation": condition.get_label() if condition else None,
        "freshness": (
            {
                "fail_s": policy.fail_window.to_timedelta().total_seconds(),
                "warn_s": policy.warn_window.to_timedelta().total_seconds()
                if policy.warn_window
                else None,
            }
            if isinstance(policy, dg.FreshnessPolicy) and hasattr(policy, "fail_window")
            else None
        ),
        "partitions": type(spec.partitions_def).__name__ if spec.partitions_def else None,
    }


def test_asset_specs_snapshot(defs: dg.Definitions, snapshot: object) -> None:
    """Any change to the graph (keys, deps, groups, policies) is a visible diff in review.

    Update deliberately with ``pytest --snapshot-update`` and commit the new snapshot.
    """
    described = sorted(
        (_describe(spec) for spec in defs.resolve_all_asset_specs()), key=lambda d: str(d["key"])
    )
    assert described == snapshot
