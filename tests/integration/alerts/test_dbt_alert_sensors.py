"""The dbt rows of the alert matrix fired by real faults: model failures and test failures.

A small dbt project built through dagster-dbt breaks the way production would: bad data fails
a mart's cast, schema drift breaks staging, and bad rows fail its own tests. The sensors are
the production ones (``build_alert_defs``), evaluated tick by tick against a real Dagster
instance, with the real Slack and PagerDuty stand-ins receiving.
"""

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from analytics_platform.alerts import build_alert_defs
from analytics_platform.notify import AlertingConfig
from analytics_platform.transform.translator import FieldForceDbtTranslator
from tests.integration.alerts.conftest import StandIn
from tests.integration.alerts.sensing import (
    UI,
    Ticker,
    incidents,
    pager_events,
    sensor_of,
    slack_texts,
)

DBT = str(Path(sys.executable).parent / "dbt")


PROJECT = {
    "dbt_project.yml": """
        name: alerts_probe
        version: "1.0.0"
        config-version: 2
        profile: alerts_probe
        flags:
          send_anonymous_usage_stats: false
        models:
          alerts_probe:
            staging:
              +materialized: view
            marts:
              +materialized: table
    """,
    "models/staging/stg_orders.sql": """
        select order_id, customer, amount from raw.orders
    """,
    "models/staging/_models.yml": """
        version: 2
        models:
          - name: stg_orders
            columns:
              - name: customer
                data_tests:
                  - not_null:
                      config:
                        severity: warn
    """,
    "models/marts/core/fct_orders.sql": """
        select order_id, customer, cast(amount as integer) as amount
        from {{ ref('stg_orders') }}
    """,
    "models/marts/core/_models.yml": """
        version: 2
        models:
          - name: fct_orders
            columns:
              - name: order_id
                data_tests:
                  - unique
    """,
}


@dataclass
class Probe:
    """A two-model dbt project (staging view → mart table) on its own DuckDB file."""

    directory: Path
    warehouse: Path
    defs: dg.Definitions
    assets: dg.AssetsDefinition

    def sql(self, statement: str) -> None:
        with duckdb.connect(str(self.warehouse)) as connection:
            connection.execute(statement)

    def build(self, instance: dg.DagsterInstance) -> bool:
        """``dbt build`` through dagster-dbt, as a run in ``instance``; whether it succeeded."""
        result = dg.materialize(
            [self.assets], instance=instance, resources=self.resources(), raise_on_error=False
        )
        return result.success

    def resources(self) -> dict[str, Any]:
        return {
            "dbt": DbtCliResource(
                project_dir=str(self.directory),
                profiles_dir=str(self.directory),
                dbt_executable=DBT,
            )
        }


@pytest.fixture
def probe(tmp_path: Path) -> Probe:
    directory = tmp_path / "probe"
    warehouse = tmp_path / "probe.duckdb"
    for name, text in PROJECT.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    (directory / "profiles.yml").write_text(
        "alerts_probe:\n  target: local\n  outputs:\n    local:\n"
        f"      type: duckdb\n      path: {warehouse}\n      threads: 1\n"
    )
    subprocess.run(
        [
            DBT,
            "parse",
            "--quiet",
            "--project-dir",
            str(directory),
            "--profiles-dir",
            str(directory),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    project = DbtProject(project_dir=directory, profiles_dir=directory)

    @dbt_assets(
        manifest=directory / "target" / "manifest.json",
        project=project,
        dagster_dbt_translator=FieldForceDbtTranslator(),
    )
    def probe_models(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        yield from dbt.cli(["build"], context=context).stream()

    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create schema raw")
        connection.execute(
            "create table raw.orders as select * from (values"
            " (1, 'ada', '10'), (2, 'bob', '20'), (3, 'cy', '30'))"
            " as t(order_id, customer, amount)"
        )
    probe = Probe(directory, warehouse, dg.Definitions(), probe_models)
    probe.defs = dg.Definitions(assets=[probe_models], resources=probe.resources())
    return probe


def test_dbt_model_and_test_failures_follow_the_layer_and_the_test_severity(
    probe: Probe,
    config: AlertingConfig,
    instance: dg.DagsterInstance,
    notifiers: dict[str, Any],
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    specs = list(probe.defs.resolve_all_asset_specs())
    groups = {spec.key: spec.group_name for spec in specs}
    stg = dg.AssetKey(["staging", "stg_orders"])
    fct = dg.AssetKey(["marts", "core", "fct_orders"])
    assert groups[stg] == "staging" and groups[fct] == "marts_core"
    defs = dg.Definitions.merge(probe.defs, build_alert_defs(specs, config=config))
    runs = Ticker(sensor_of(defs, "alerts__dbt_model_failure_sensor"), instance, notifiers, defs)
    tests = Ticker(sensor_of(defs, "alerts__dbt_test_failure_sensor"), instance, notifiers, defs)
    mart_page = "fieldforce/dbt_model_failure/marts/core/fct_orders"
    error_test = next(
        key.name
        for key in defs.get_repository_def().asset_graph.asset_check_keys
        if key.asset_key == fct and key.name.startswith("unique")
    )
    test_page = f"fieldforce/dbt_test_failure/marts/core/fct_orders:{error_test}"

    def tick() -> None:
        runs.tick()
        tests.tick()

    tick()  # nothing has run: nothing to say
    assert slack_texts(slack_standin) == [] and pager_events(pagerduty_standin) == []

    # Bad data lands: the mart's cast fails. A mart is production: page.
    probe.sql("insert into raw.orders values (4, 'dee', 'n/a')")
    assert not probe.build(instance)
    tick()
    [mart] = slack_texts(slack_standin)
    assert mart.startswith(
        ":rotating_light: *CRITICAL*: dbt model fct_orders (marts) failed to build"
    )
    assert f"{UI}/runs/" in mart
    assert pager_events(pagerduty_standin) == [("trigger", mart_page)]
    tick()  # no re-post, no re-page
    assert len(slack_texts(slack_standin)) == 1

    # Schema drift instead: staging breaks and the mart is skipped, not broken: one warning
    # for staging, and the mart's page stays open (it still is not built).
    probe.sql("delete from raw.orders where order_id = 4")
    probe.sql("alter table raw.orders drop column customer")
    assert not probe.build(instance)
    tick()
    texts = slack_texts(slack_standin)
    assert len(texts) == 2
    assert texts[1].startswith(
        ":warning: *WARNING*: dbt model stg_orders (staging) failed to build"
    )
    assert "not_built_downstream: 1" in str(slack_standin.recorded()["messages"][1]["message"])
    assert pager_events(pagerduty_standin) == [("trigger", mart_page)]

    # The column comes back, with a row that fails a warn test (null customer) and one that
    # fails an error test (duplicate order id): models build, tests fail.
    probe.sql("alter table raw.orders add column customer varchar")
    probe.sql("update raw.orders set customer = 'x'")
    probe.sql("insert into raw.orders values (5, '50', null), (1, '15', 'eve')")
    assert not probe.build(instance)  # an error-severity test fails the dbt build
    tick()
    texts = slack_texts(slack_standin)[2:]
    resolved = [text for text in texts if "*RESOLVED*" in text]
    assert len(resolved) == 2  # both models build again
    warn = [text for text in texts if text.startswith(":warning: *WARNING*: Test not_null")]
    error = [
        text for text in texts if text.startswith(f":rotating_light: *CRITICAL*: Test {error_test}")
    ]
    assert len(warn) == 1 and len(error) == 1, texts
    assert "?view=checks" in error[0]
    assert pager_events(pagerduty_standin) == [
        ("trigger", mart_page),
        ("resolve", mart_page),
        ("trigger", test_page),
    ]
    # The failed run is the tests' doing: no model alert for it.
    assert not [text for text in texts if "failed to build" in text and "*RESOLVED*" not in text]
    count = len(slack_texts(slack_standin))
    tick()
    assert len(slack_texts(slack_standin)) == count

    probe.sql("delete from raw.orders where order_id in (5) or customer = 'eve'")
    assert probe.build(instance)
    tick()
    assert incidents(pagerduty_standin) == {mart_page: "resolved", test_page: "resolved"}
    assert len([text for text in slack_texts(slack_standin) if "*RESOLVED*" in text]) == 4
    # Healthy: further ticks say nothing.
    count = len(slack_texts(slack_standin))
    tick()
    assert len(slack_texts(slack_standin)) == count and len(pager_events(pagerduty_standin)) == 4
