"""Each row of the design's alert matrix as alerting.yaml encodes it: severity, then destinations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analytics_platform.notify import (
    Alert,
    AlertingConfig,
    PagerDutyDestination,
    SlackDestination,
    classify,
    dedup_key,
    load_alerting_config,
    parse_alerting_config,
    route,
)

SINCE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def config() -> AlertingConfig:
    return load_alerting_config()


MATRIX = [
    # Fivetran sync delay: warn > 30 min, critical > 60 min (strictly greater).
    ("fivetran_sync_delay", 30, None),
    ("fivetran_sync_delay", 31, "warning"),
    ("fivetran_sync_delay", 60, "warning"),
    ("fivetran_sync_delay", 61, "critical"),
    # Fivetran sync failure: 1 failure warns, 3 consecutive are critical.
    ("fivetran_sync_failure", 0, None),
    ("fivetran_sync_failure", 1, "warning"),
    ("fivetran_sync_failure", 2, "warning"),
    ("fivetran_sync_failure", 3, "critical"),
    ("fivetran_sync_failure", 7, "critical"),
    # dbt job failure: any staging model warns, a production mart is critical.
    ("dbt_model_failure", "staging", "warning"),
    ("dbt_model_failure", "intermediate", "warning"),
    ("dbt_model_failure", "marts", "critical"),
    ("dbt_model_failure", "some_new_layer", "warning"),
    # dbt test failure: warn-severity tests warn, error-severity tests are critical.
    ("dbt_test_failure", "warn", "warning"),
    ("dbt_test_failure", "error", "critical"),
    ("dbt_test_failure", "pass", None),
    # Freshness policy (the SLA row: late → Slack, later → page).
    ("asset_freshness", "pass", None),
    ("asset_freshness", "warn", "warning"),
    ("asset_freshness", "fail", "critical"),
    # Raw row-count anomaly: a warning, never a page.
    ("raw_row_count_anomaly", 0.2, None),
    ("raw_row_count_anomaly", 0.8, "warning"),
    ("raw_row_count_anomaly", 50.0, "warning"),
    # Raw-vs-source drift: 2 sync windows in a row warn, 4 page.
    ("raw_source_drift", 1, None),
    ("raw_source_drift", 2, "warning"),
    ("raw_source_drift", 4, "critical"),
    # Schema drift: every scenario reaches Slack; an error that breaks a mart pages.
    ("schema_drift", "info", "warning"),
    ("schema_drift", "warning", "warning"),
    ("schema_drift", "error", "warning"),
    ("schema_drift", "breaking", "critical"),
    # Snowflake credit usage: > 80 % warns, > 95 % critical.
    ("snowflake_credit_usage", 80, None),
    ("snowflake_credit_usage", 81, "warning"),
    ("snowflake_credit_usage", 96, "critical"),
    # Snowflake query queue: > 5 min avg warns, > 15 min critical.
    ("snowflake_query_queue", 5, None),
    ("snowflake_query_queue", 6, "warning"),
    ("snowflake_query_queue", 16, "critical"),
    # BI dashboard error: any error warns, a critical dashboard is critical.
    ("bi_dashboard_error", "standard", "warning"),
    ("bi_dashboard_error", "untiered", "warning"),
    ("bi_dashboard_error", "critical", "critical"),
]


@pytest.mark.parametrize(("rule", "value", "expected"), MATRIX)
def test_classify_follows_the_matrix(
    config: AlertingConfig, rule: str, value: float | str, expected: str | None
) -> None:
    assert classify(rule, value, config) == expected


@pytest.mark.parametrize(("rule", "value", "severity"), [m for m in MATRIX if m[2] is not None])
def test_route_of_every_firing_row(
    config: AlertingConfig, rule: str, value: float | str, severity: str
) -> None:
    alert = Alert(rule=rule, severity=severity, what="w", where="x/y", since=SINCE)  # type: ignore[arg-type]

    destinations = route(alert, config)

    if severity == "warning":
        assert destinations == (SlackDestination("#data-alerts"),)
    else:
        assert destinations == (
            SlackDestination("#data-alerts"),
            PagerDutyDestination(f"fieldforce/{rule}/x/y", "critical"),
        )


def test_every_configured_rule_is_covered_by_the_matrix(config: AlertingConfig) -> None:
    assert {rule for rule, _, _ in MATRIX} == set(config.rules)


def test_a_rule_can_override_its_route_and_channel() -> None:
    config = parse_alerting_config(
        {
            "version": 1,
            "dagster_ui_url": "http://ui",
            "slack": {"channel": "#data-alerts"},
            "pagerduty": {"dedup_key": "ff/{rule}/{where}", "group": "g"},
            "routing": {"warning": ["slack"], "critical": ["slack", "pagerduty"]},
            "rules": {
                "quiet": {
                    "component": "dbt",
                    "metric": "m",
                    "warning": {"at_least": 1},
                    "critical": {"at_least": 2},
                    "route": {"warning": [], "critical": ["pagerduty"]},
                    "slack_channel": "#elsewhere",
                }
            },
        }
    )

    def alert(severity: str) -> Alert:
        return Alert(rule="quiet", severity=severity, what="w", where="a", since=SINCE)  # type: ignore[arg-type]

    assert route(alert("warning"), config) == ()
    assert route(alert("critical"), config) == (PagerDutyDestination("ff/quiet/a", "critical"),)


def test_dedup_key_is_stable_and_fits_pagerduty(config: AlertingConfig) -> None:
    long_a, long_b = "a" * 300, "a" * 299 + "b"

    assert dedup_key("r", "x", config) == dedup_key("r", "x", config) == "fieldforce/r/x"
    assert len(dedup_key("r", long_a, config)) == 255
    assert dedup_key("r", long_a, config) != dedup_key("r", long_b, config)


def test_unknown_rule_names_the_known_ones(config: AlertingConfig) -> None:
    with pytest.raises(KeyError, match="fivetran_sync_delay"):
        classify("fivetran_sync_dealy", 45, config)
