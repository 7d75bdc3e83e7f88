"""The measurements behind each row of the alert matrix, and the raw-table checks, as pure logic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import dagster as dg
import pytest

from analytics_platform.alerts.fivetran import count_failures, delay_alert
from analytics_platform.alerts.freshness import freshness_state, time_window_state
from analytics_platform.alerts.runs import layer_of_group, root_failures
from analytics_platform.ingest.checks import (
    RawTable,
    anomaly_outcome,
    connector_schedule,
    freshness_outcome,
    row_count_anomaly,
)
from analytics_platform.notify import AlertingConfig, load_alerting_config

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def config() -> AlertingConfig:
    return load_alerting_config(dagster_ui_url="http://dagster.test:3000")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def connector(minutes_ago: float | None, frequency: int = 15, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {
        "sync_frequency": frequency,
        "succeeded_at": iso(NOW - timedelta(minutes=minutes_ago)) if minutes_ago else None,
        "created_at": iso(NOW - timedelta(days=3)),
        "paused": False,
        "status": {"setup_state": "connected", "sync_state": "scheduled"},
    }
    return details | extra


# --- Fivetran: delay ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes_ago", "frequency", "expected"),
    [
        (10, 15, None),  # not due yet
        (45, 15, None),  # exactly 30 min late: "> 30" is strict
        (46, 15, "warning"),
        (75, 15, "warning"),  # exactly 60 late
        (76, 15, "critical"),
        (100, 60, "warning"),  # an hourly connector 40 min late
        (100, 360, None),  # a six-hourly one is fine
    ],
)
def test_delay_is_measured_against_the_connectors_own_schedule(
    config: AlertingConfig, minutes_ago: float, frequency: int, expected: str | None
) -> None:
    alert = delay_alert("c1", "fivetran_c1", connector(minutes_ago, frequency), NOW, config)
    assert (alert.severity if alert else None) == expected
    if alert:
        due = NOW - timedelta(minutes=minutes_ago) + timedelta(minutes=frequency)
        assert abs((alert.since - due).total_seconds()) < 1
        assert alert.where == "fivetran/fivetran_c1"
        assert alert.asset_key == ("fivetran", "fivetran_c1")


def test_paused_or_unfinished_connectors_are_not_late(config: AlertingConfig) -> None:
    assert delay_alert("c1", "s", connector(500, paused=True), NOW, config) is None
    incomplete = connector(500, status={"setup_state": "incomplete"})
    assert delay_alert("c1", "s", incomplete, NOW, config) is None
    first_sync = connector(
        None,
        status={"setup_state": "connected", "sync_state": "syncing", "is_historical_sync": True},
    )
    assert delay_alert("c1", "s", first_sync, NOW, config) is None
    # Never synced (and not syncing): late against its creation.
    never = delay_alert("c1", "s", connector(None), NOW, config)
    assert never is not None and never.severity == "critical"
    assert "no successful sync yet" in never.what


# --- Fivetran: consecutive failures -------------------------------------------------------


def at(minutes: int) -> str:
    return iso(NOW + timedelta(minutes=minutes))


def test_failures_are_counted_across_ticks_and_a_success_resets() -> None:
    streak = count_failures(None, at(0), None)
    assert streak["consecutive"] == 0
    streak = count_failures(streak, at(0), at(15))
    assert (streak["consecutive"], streak["first_failed_at"]) == (1, at(15))
    streak = count_failures(streak, at(0), at(15))  # nothing new this tick
    assert streak["consecutive"] == 1
    streak = count_failures(streak, at(0), at(30))
    streak = count_failures(streak, at(0), at(45))
    assert (streak["consecutive"], streak["first_failed_at"]) == (3, at(15))
    streak = count_failures(streak, at(60), at(45))
    assert (streak["consecutive"], streak["first_failed_at"]) == (0, None)


def test_a_success_then_a_failure_between_ticks_starts_a_new_streak() -> None:
    streak = {
        "succeeded_at": at(0),
        "failed_at": at(15),
        "consecutive": 2,
        "first_failed_at": at(5),
    }
    streak = count_failures(streak, at(20), at(25))
    assert (streak["consecutive"], streak["first_failed_at"]) == (1, at(25))
    streak = count_failures(streak, at(40), at(35))  # a failure then a success: healthy
    assert streak["consecutive"] == 0


def test_first_sight_of_a_failing_connector_counts_one() -> None:
    assert count_failures(None, at(0), at(10))["consecutive"] == 1
    assert count_failures(None, None, at(10))["consecutive"] == 1
    assert count_failures(None, at(20), at(10))["consecutive"] == 0


# --- dbt: which failure is the cause -------------------------------------------------------


def key(*path: str) -> dg.AssetKey:
    return dg.AssetKey(list(path))


def test_collateral_failures_are_not_causes() -> None:
    stg, fct, rpt = key("staging", "stg"), key("marts", "core", "fct"), key("marts", "x", "rpt")
    deps = {fct: {stg}, rpt: {fct}}
    assert root_failures({stg, fct, rpt}, deps, set()) == {stg}
    assert root_failures({fct, rpt}, deps, set()) == {fct}
    # An error-severity test on staging made dbt skip the mart: the mart is not a cause.
    assert root_failures({fct, rpt}, deps, {stg}) == set()


@pytest.mark.parametrize(
    ("group", "layer"),
    [
        ("staging", "staging"),
        ("intermediate", "intermediate"),
        ("snapshots", "snapshots"),
        ("marts_core", "marts"),
        ("marts_finance", "marts"),
        (None, "unknown"),
    ],
)
def test_layers_come_from_groups(group: str | None, layer: str) -> None:
    assert layer_of_group(group) == layer


# --- freshness ---------------------------------------------------------------------------

POLICY = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(minutes=60), warn_window=timedelta(minutes=30)
)


@pytest.mark.parametrize(
    ("age", "state"),
    [(29, "pass"), (30, "warn"), (59, "warn"), (60, "fail"), (600, "fail")],
)
def test_time_windows_follow_the_daemons_rule(age: int, state: str) -> None:
    built = NOW - timedelta(minutes=age)
    found, since = time_window_state(POLICY, built, NOW)
    assert found == state
    assert since == (None if state == "pass" else built + timedelta(minutes=30))


def test_never_built_is_unknown_and_other_policies_read_the_daemons_record() -> None:
    assert time_window_state(POLICY, None, NOW) == ("unknown", None)
    cron = dg.FreshnessPolicy.cron(deadline_cron="0 9 * * *", lower_bound_delta=timedelta(hours=1))
    record = SimpleNamespace(freshness_state=SimpleNamespace(value="FAIL"), updated_at=NOW)
    assert freshness_state(cron, NOW, record, NOW) == ("fail", NOW)
    assert freshness_state(cron, NOW, None, NOW) == ("unknown", None)


# --- raw-table checks --------------------------------------------------------------------

TABLE = RawTable(key("fivetran", "fivetran_x", "jobs"), "x", "fivetran_x", "jobs")


def test_robust_score_ignores_an_earlier_outlier_and_flags_a_new_one() -> None:
    history = [20, 22, 18, 21, 19, 5_000]  # one earlier bulk load
    normal = row_count_anomaly(23, history)
    assert normal.median == 20.5 and not normal.anomalous
    spike = row_count_anomaly(2_000, history)
    assert spike.anomalous and spike.score is not None and spike.score > 100
    assert spike.relative_deviation == pytest.approx((2_000 - 20.5) / 20.5)
    drop = row_count_anomaly(1, [200, 210, 190, 205, 195])
    assert drop.anomalous and drop.score is not None and drop.score < 0


def test_a_constant_table_tolerates_small_changes_and_flags_a_doubling() -> None:
    assert not row_count_anomaly(25, [24] * 8).anomalous
    assert row_count_anomaly(48, [24] * 8).anomalous


def test_a_new_table_is_not_an_anomaly() -> None:
    scored = row_count_anomaly(10_000, [10, 11, 12, 9])
    assert not scored.enough_history and not scored.anomalous
    outcome = anomaly_outcome(TABLE, [10_000, 10, 11, 12, 9])
    assert outcome is not None and outcome.passed
    assert anomaly_outcome(TABLE, []) is None


def test_anomaly_outcome_carries_what_the_alert_reads() -> None:
    outcome = anomaly_outcome(TABLE, [2_000, 20, 22, 18, 21, 19])
    assert outcome is not None and not outcome.passed
    assert outcome.severity == dg.AssetCheckSeverity.WARN
    assert outcome.metadata["relative_deviation"] == pytest.approx(99.0)
    assert outcome.metadata["trailing_median"] == 20
    evaluation = outcome.evaluation()
    assert evaluation.check_name == "raw_row_count_anomaly" and not evaluation.passed


@pytest.mark.parametrize(
    ("minutes_ago", "reported_ago", "label"),
    [
        (10, None, "pass"),
        (50, None, "warn"),
        (80, None, "error"),
        (80, 5, "pass"),  # a later reported sync counts, whichever is newer
    ],
)
def test_raw_freshness_counts_from_the_newest_sync(
    minutes_ago: int, reported_ago: int | None, label: str
) -> None:
    schedule = connector_schedule(connector(minutes_ago))
    assert schedule is not None
    reported = NOW - timedelta(minutes=reported_ago) if reported_ago else None
    outcome = freshness_outcome(TABLE, schedule, reported, NOW)
    assert outcome is not None and outcome.label == label


def test_raw_freshness_of_a_paused_connector_passes() -> None:
    schedule = connector_schedule(connector(500, paused=True))
    assert schedule is not None
    outcome = freshness_outcome(TABLE, schedule, None, NOW)
    assert outcome is not None and outcome.passed and outcome.metadata["connector_paused"]
