"""Files that cannot import Python repeat a few facts; they agree with the Python source."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import yaml

from analytics_platform import freshness, settings
from analytics_platform.alerts.policy import Threshold, load_alerting_config
from analytics_platform.ingest import checks

JOBS_SOURCES = settings.DBT_PROJECT_DIR / "models/staging/jobs/_jobs__sources.yml"


def as_timedelta(spec: dict[str, Any]) -> timedelta:
    return timedelta(minutes=spec["count"] * {"minute": 1, "hour": 60, "day": 1440}[spec["period"]])


def test_the_sync_delay_rule_uses_the_sync_window() -> None:
    rule = load_alerting_config().rule("fivetran_sync_delay")

    assert rule.warning == Threshold(above=freshness.SYNC_WINDOW.warn_minutes)
    assert rule.critical == Threshold(above=freshness.SYNC_WINDOW.fail_minutes)


def test_the_jobs_db_source_freshness_uses_the_sync_window() -> None:
    [source] = yaml.safe_load(JOBS_SOURCES.read_text())["sources"]

    assert as_timedelta(source["freshness"]["warn_after"]) == freshness.SYNC_WINDOW.warn
    assert as_timedelta(source["freshness"]["error_after"]) == freshness.SYNC_WINDOW.fail


def test_the_raw_freshness_check_uses_the_sync_window() -> None:
    assert checks.FRESHNESS_WARN_MINUTES == freshness.SYNC_WINDOW.warn_minutes
    assert checks.FRESHNESS_ERROR_MINUTES == freshness.SYNC_WINDOW.fail_minutes


def test_fast_marts_use_the_sync_window_and_the_daily_report_a_day() -> None:
    for group in ("marts_core", "marts_finance", "marts_operations", "marts_ops"):
        assert freshness.LAYER_WINDOWS[group] == freshness.SYNC_WINDOW, group
    assert freshness.LAYER_WINDOWS["marts_executive"] == freshness.DAILY_REPORT_WINDOW
    assert freshness.SYNC_WINDOW.warn == timedelta(minutes=30)
    assert freshness.SYNC_WINDOW.fail == timedelta(minutes=60)
    for group, policy in freshness.LAYER_POLICIES.items():
        window = freshness.LAYER_WINDOWS[group]
        assert policy.fail_window.to_timedelta() == window.fail, group  # type: ignore[attr-defined]
        assert policy.warn_window.to_timedelta() == window.warn, group  # type: ignore[attr-defined]


def test_alerting_yaml_links_to_the_settings_default_dagster_ui() -> None:
    data = yaml.safe_load((settings.PROJECT_ROOT / "alerting.yaml").read_text())

    assert data["dagster_ui_url"] == settings.DAGSTER_UI_URL
