"""Failure streaks counted from the sync history, whatever the sensor's ticks saw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from analytics_platform.alerts.fivetran import (
    count_failures,
    current_streak,
    fold_history,
    read_sync_history,
)
from analytics_platform.alerts.platform_log import LANDING_MARGIN, LogEvent, LogPosition

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def iso(seconds: float) -> str:
    return at(seconds).isoformat()


def test_back_to_back_failures_count_each_one() -> None:
    streak = fold_history(None, [(at(0), True), (at(1), False), (at(1.5), False), (at(2), False)])
    assert streak["consecutive"] == 3
    assert streak["first_failed_at"] == iso(1)


def test_a_success_ends_the_streak_and_a_failure_starts_one() -> None:
    streak = fold_history(None, [(at(1), False), (at(2), False), (at(3), True)])
    assert streak["consecutive"] == 0 and streak["first_failed_at"] is None
    streak = fold_history(streak, [(at(4), False)])
    assert streak["consecutive"] == 1 and streak["first_failed_at"] == iso(4)


def test_the_fold_continues_across_calls_and_skips_folded_history() -> None:
    first = fold_history(None, [(at(1), False)])
    again = fold_history(first, [(at(1), False), (at(0.5), True), (at(2), False)])
    assert again["consecutive"] == 2
    assert again["first_failed_at"] == iso(1)


def test_outcomes_are_folded_in_time_order() -> None:
    streak = fold_history(None, [(at(3), False), (at(1), True), (at(2), False)])
    assert streak["consecutive"] == 2 and streak["first_failed_at"] == iso(2)


def test_the_history_wins_when_it_saw_more_failures_than_the_ticks() -> None:
    # Three failures within two seconds: the API shows only the last.
    ticked = count_failures(None, iso(0), iso(3))
    assert ticked["consecutive"] == 1
    history = fold_history(None, [(at(0), True), (at(1), False), (at(2), False), (at(3), False)])
    streak = current_streak(ticked, history, iso(0))
    assert streak["consecutive"] == 3
    assert streak["first_failed_at"] == iso(1)


def test_equal_counts_keep_the_apis_timestamps() -> None:
    ticked = {"consecutive": 2, "first_failed_at": iso(1.01), "failed_at": iso(2.01)}
    history = fold_history(None, [(at(1), False), (at(2), False)])
    assert current_streak(ticked, history, iso(0)) == ticked


def test_a_success_the_log_has_not_delivered_ends_the_history_streak() -> None:
    history = fold_history(None, [(at(1), False), (at(2), False), (at(3), False)])
    # The API knows a success at 4 and a new failure at 5; the log stops at 3.
    ticked = count_failures(None, iso(4), iso(5))
    assert current_streak(ticked, history, iso(4)) == ticked


def test_a_healthy_connector_stays_healthy_whatever_the_log_says() -> None:
    history = fold_history(None, [(at(1), False), (at(2), False), (at(3), False)])
    ticked = count_failures(None, iso(4), iso(3))
    assert current_streak(ticked, history, iso(4))["consecutive"] == 0


def event(ident: str, landed: float, at_s: float | None = None) -> LogEvent:
    return LogEvent(ident, "c", at(at_s if at_s is not None else landed), at(landed), "INFO", "x")


def test_a_position_returns_each_row_once_even_when_it_lands_late() -> None:
    fresh, position = LogPosition().advance([event("a", 10), event("b", 20)])
    assert [e.id for e in fresh] == ["a", "b"]
    assert position.since() == at(20) - LANDING_MARGIN
    # The next read overlaps: a and b again, plus c that committed late with an earlier stamp.
    fresh, position = position.advance([event("a", 10), event("b", 20), event("c", 15)])
    assert [e.id for e in fresh] == ["c"]
    kept = LogPosition.from_json(position.to_json())
    assert kept == position
    fresh, _ = kept.advance([event("b", 20), event("d", 30)])
    assert [e.id for e in fresh] == ["d"]


def test_a_position_forgets_ids_older_than_its_margin() -> None:
    _, position = LogPosition().advance([event("old", 0)])
    later = LANDING_MARGIN.total_seconds() + 60
    _, position = position.advance([event("new", later)])
    assert set(position.seen) == {"new"}


@pytest.fixture
def log() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("set TimeZone = 'UTC'")
    connection.execute("create schema fivetran_metadata")
    connection.execute(
        "create table fivetran_metadata.log (id varchar, connection_id varchar,"
        " time_stamp timestamp, event varchar, message_event varchar, message_data varchar,"
        " sync_id varchar, _fivetran_synced timestamp)"
    )
    return connection


def write(connection: duckdb.DuckDBPyConnection, ident: str, seconds: float, status: str) -> None:
    stamp = at(seconds).replace(tzinfo=None)
    connection.execute(
        "insert into fivetran_metadata.log values (?, 'north', ?, 'INFO', 'sync_end', ?, ?, ?)",
        [ident, stamp, f'{{"status": "{status}"}}', ident, stamp],
    )


def test_the_sync_history_is_read_from_the_log_and_resumed_from_the_cursor(
    log: duckdb.DuckDBPyConnection,
) -> None:
    now = at(10)
    write(log, "s0", 0, "SUCCESSFUL")
    write(log, "f1", 1, "FAILURE")
    state = read_sync_history(log, None, now, "duckdb")
    assert state["streaks"]["north"]["consecutive"] == 1
    # Two more failures land back to back; a restart reads them from the kept state.
    write(log, "f2", 1.5, "FAILURE")
    write(log, "f3", 2, "FAILURE")
    state = read_sync_history(log, state, now, "duckdb")
    assert state["streaks"]["north"]["consecutive"] == 3
    assert state["streaks"]["north"]["first_failed_at"] == iso(1)
    assert read_sync_history(log, state, now, "duckdb") == state  # nothing new: nothing moves


def test_a_warehouse_without_a_log_has_no_history() -> None:
    state = read_sync_history(duckdb.connect(), None, at(0), "duckdb")
    assert state["streaks"] == {}
