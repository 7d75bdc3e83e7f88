"""Schema drift: log events classified by the design's drift table, models named, errors paging."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pytest

from analytics_platform.alerts.drift import (
    DESIGN_SEVERITY,
    Drift,
    Lineage,
    classify_event,
    drift_alert,
    drift_value,
)
from analytics_platform.alerts.platform_log import LogEvent, parse_data
from analytics_platform.alerts.policy import AlertingConfig, load_alerting_config
from analytics_platform.alerts.render import PagerDutyDestination, route

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SCHEMA = "fivetran_postgres_bu_north"


@pytest.fixture(scope="module")
def config() -> AlertingConfig:
    return load_alerting_config()


def event(name: str, data: dict[str, Any], level: str = "INFO") -> LogEvent:
    return LogEvent("id", "postgres_jobs_bu_north", AT, AT, level, name, data)


def test_the_design_table_is_the_severity_of_each_scenario() -> None:
    assert DESIGN_SEVERITY == {
        "new_column": "info",
        "column_removed": "error",
        "column_type_change": "error",
        "new_table": "warning",
        "table_removed": "error",
    }


@pytest.mark.parametrize(
    ("name", "data", "kind", "table", "column", "change"),
    [
        # The local Fivetran's events.
        (
            "schema_change",
            {"table": "jobs", "type": "ADD_COLUMN", "column": "rating", "data_type": "INTEGER"},
            "new_column",
            "jobs",
            "rating",
            "INTEGER",
        ),
        (
            "schema_change",
            {"table": "jobs", "type": "DROP_COLUMN", "column": "notes"},
            "column_removed",
            "jobs",
            "notes",
            None,
        ),
        (
            "schema_change",
            {
                "table": "jobs",
                "type": "CHANGE_COLUMN_TYPE",
                "column": "region_id",
                "from": "INTEGER",
                "to": "BIGINT",
            },
            "column_type_change",
            "jobs",
            "region_id",
            "INTEGER → BIGINT",
        ),
        (
            "schema_change",
            {"type": "CREATE_TABLE", "table": "equipment"},
            "new_table",
            "equipment",
            None,
            None,
        ),
        (
            "table_removed",
            {"table": "job_line_items"},
            "table_removed",
            "job_line_items",
            None,
            None,
        ),
        # Fivetran's Platform Connector events.
        (
            "alter_table",
            {"type": "ADD_COLUMN", "table": "jobs", "properties": {"columnName": "rating"}},
            "new_column",
            "jobs",
            "rating",
            None,
        ),
        (
            "alter_table",
            {
                "type": "CHANGE_COLUMN_TYPE",
                "table": "jobs",
                "properties": {"columnName": "total", "oldType": "INTEGER", "newType": "DOUBLE"},
            },
            "column_type_change",
            "jobs",
            "total",
            "INTEGER → DOUBLE",
        ),
        (
            "create_table",
            {"name": "equipment", "schema": SCHEMA},
            "new_table",
            "equipment",
            None,
            None,
        ),
        ("drop_table", {"name": "job_line_items"}, "table_removed", "job_line_items", None, None),
    ],
)
def test_log_events_are_classified_by_scenario(
    name: str,
    data: dict[str, Any],
    kind: str,
    table: str,
    column: str | None,
    change: str | None,
) -> None:
    drift = classify_event(event(name, data), established=True)
    assert drift is not None
    assert (drift.kind, drift.table, drift.column, drift.change) == (kind, table, column, change)
    assert drift.connector_id == "postgres_jobs_bu_north" and drift.at == AT


def test_tables_a_first_sync_creates_are_not_drift() -> None:
    assert classify_event(event("create_table", {"name": "jobs"}), established=False) is None


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("sync_end", {"status": "SUCCESSFUL"}),
        ("alter_table", {"type": "SOMETHING_ELSE", "table": "jobs"}),
        ("alter_table", {"type": "ADD_COLUMN"}),  # no table: nothing to name
    ],
)
def test_other_events_are_not_drift(name: str, data: dict[str, Any]) -> None:
    assert classify_event(event(name, data), established=True) is None


def test_message_data_is_read_from_text_or_a_variant() -> None:
    assert parse_data('{"table": "jobs"}') == {"table": "jobs"}
    assert parse_data({"table": "jobs"}) == {"table": "jobs"}
    assert parse_data("not json") == {"message": "not json"}
    assert parse_data(None) == {}


def spec(path: str, group: str, deps: list[str], kinds: set[str]) -> dg.AssetSpec:
    return dg.AssetSpec(
        dg.AssetKey.from_user_string(path),
        group_name=group,
        deps=[dg.AssetKey.from_user_string(dep) for dep in deps],
        kinds=kinds,
    )


@pytest.fixture(scope="module")
def lineage() -> Lineage:
    raw = f"fivetran/{SCHEMA}"
    return Lineage.of(
        [
            spec(f"{raw}/jobs", "fivetran", [], {"fivetran"}),
            spec(f"{raw}/service_types", "fivetran", [], {"fivetran"}),
            spec("staging/stg_jobs__jobs", "staging", [f"{raw}/jobs"], {"dbt"}),
            spec("staging/stg_jobs__service_types", "staging", [f"{raw}/service_types"], {"dbt"}),
            spec("marts/core/fct_jobs", "marts_core", ["staging/stg_jobs__jobs"], {"dbt"}),
            spec("dashboards/ops", "dashboards", ["marts/core/fct_jobs"], {"sigma"}),
        ]
    )


def drift(kind: str, table: str = "jobs", column: str | None = "notes") -> Drift:
    return Drift(kind, "postgres_jobs_bu_north", table, column, None, AT)  # type: ignore[arg-type]


def test_the_models_downstream_of_a_table_are_the_dbt_ones(lineage: Lineage) -> None:
    models = lineage.downstream(dg.AssetKey(["fivetran", SCHEMA, "jobs"]))
    assert [m.to_user_string() for m in models] == ["staging/stg_jobs__jobs", "marts/core/fct_jobs"]
    assert lineage.downstream(dg.AssetKey(["fivetran", SCHEMA, "equipment"])) == []


@pytest.mark.parametrize(
    ("kind", "table", "value"),
    [
        ("new_column", "jobs", "info"),
        ("new_table", "equipment", "warning"),
        ("column_removed", "jobs", "breaking"),  # reaches a mart: its failure would page
        ("column_type_change", "jobs", "breaking"),
        ("table_removed", "jobs", "breaking"),
        ("column_removed", "service_types", "error"),  # staging only: a failure there warns
    ],
)
def test_an_error_breaks_when_it_reaches_a_model_whose_failure_pages(
    lineage: Lineage, config: AlertingConfig, kind: str, table: str, value: str
) -> None:
    found = drift(kind, table)
    models = lineage.downstream(dg.AssetKey(["fivetran", SCHEMA, table]))
    assert drift_value(found, models, lineage, config) == value


def test_every_scenario_reaches_slack_and_breaking_ones_page(
    lineage: Lineage, config: AlertingConfig
) -> None:
    made = drift_alert(drift("new_column", column="rating"), SCHEMA, lineage, config)
    assert made is not None
    alert, breaking = made
    assert alert.rule == "schema_drift" and alert.severity == "warning" and breaking == []
    assert alert.what.startswith(f"Schema drift (info): new column {SCHEMA}.jobs.rating")
    assert "postgres_jobs_bu_north" in alert.what
    assert "stg_jobs__jobs, fct_jobs" in alert.what
    assert alert.where == f"fivetran/{SCHEMA}/jobs/rating"
    assert not any(isinstance(d, PagerDutyDestination) for d in route(alert, config))

    made = drift_alert(drift("column_removed"), SCHEMA, lineage, config)
    assert made is not None
    alert, breaking = made
    assert alert.severity == "critical"
    assert alert.what.startswith(f"Schema drift (error): column removed {SCHEMA}.jobs.notes")
    assert any(isinstance(d, PagerDutyDestination) for d in route(alert, config))
    assert [m.to_user_string() for m in breaking] == ["marts/core/fct_jobs"]

    made = drift_alert(drift("new_table", "equipment", None), SCHEMA, lineage, config)
    assert made is not None
    alert, _ = made
    assert alert.severity == "warning" and "no dbt model reads it yet" in alert.what
    assert alert.where == f"fivetran/{SCHEMA}/equipment"
    assert alert.asset_key == ("fivetran", SCHEMA)  # not an asset yet: the connector's folder
