"""The savings mart's figures, from materialization records: builds, syncs absorbed, windows met."""

from datetime import UTC, date, datetime

from analytics_platform.automation.savings import (
    BuildRecord,
    DayFigures,
    daily_figures,
    write_statements,
)

JOBS, VISITS = "fivetran/s/jobs", "fivetran/s/visits"
WARN_S = 30 * 60.0


def _at(hour: int, minute: int, day: int = 1) -> float:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC).timestamp()


def test_a_build_absorbs_every_sync_since_the_last_and_each_is_judged_against_its_window() -> None:
    syncs = {
        # 11:45 was reflected by the build before the period; 12:30 landed in both tables.
        JOBS: [_at(11, 45), _at(12, 0), _at(12, 15), _at(12, 30), _at(13, 0), _at(13, 50)],
        VISITS: [_at(12, 30)],
    }
    previous = BuildRecord(at=_at(11, 50), data_time={JOBS: _at(11, 45), VISITS: _at(11, 0)})
    builds = [
        BuildRecord(_at(12, 40), {JOBS: _at(12, 30), VISITS: _at(12, 30)}, 2.5, by_planner=True),
        BuildRecord(_at(13, 5), {JOBS: _at(13, 0), VISITS: _at(12, 30)}, 1.5, by_planner=False),
    ]
    (day,) = daily_figures("marts/x", builds, syncs, WARN_S, now=_at(14, 0), previous=previous)
    assert (day.asset_key, day.activity_date) == ("marts/x", date(2025, 3, 1))
    assert (day.builds, day.planner_builds) == (2, 1)
    # 12:00, 12:15, 12:30 (one sync though two tables) by the first build; 13:00 by the second.
    assert day.syncs_absorbed == 4
    assert day.syncs_absorbed_per_build == 2.0
    # 12:00 waited 40 min (missed); 12:15, 12:30 and 13:00 made it; 13:50 is not judged yet.
    assert (day.syncs_landed, day.syncs_in_window) == (4, 3)
    assert day.windows_met == 0.75
    assert day.warehouse_s == 4.0


def test_an_unreflected_sync_past_its_window_is_a_miss_on_the_day_it_landed() -> None:
    syncs = {JOBS: [_at(23, 50), _at(0, 10, day=2)]}
    builds = [BuildRecord(_at(23, 55), {JOBS: _at(23, 50)}, 1.0)]
    first, second = daily_figures("marts/x", builds, syncs, WARN_S, now=_at(1, 0, day=2))
    assert (first.activity_date, first.builds, first.syncs_in_window) == (date(2025, 3, 1), 1, 1)
    assert (second.activity_date, second.builds, second.syncs_landed) == (date(2025, 3, 2), 0, 1)
    assert second.syncs_in_window == 0
    assert second.windows_met == 0.0
    assert second.syncs_absorbed_per_build is None


def test_without_a_window_nothing_is_judged_and_a_build_without_data_time_absorbs_nothing() -> None:
    syncs = {JOBS: [_at(12, 0), _at(12, 30)]}
    builds = [
        BuildRecord(_at(12, 5), {JOBS: _at(12, 0)}, 1.0),
        BuildRecord(_at(12, 20), None, 1.0),  # e.g. built before data time was recorded
        BuildRecord(_at(12, 40), {JOBS: _at(12, 30)}, 1.0),
    ]
    (day,) = daily_figures("marts/x", builds, syncs, None, now=_at(20, 0))
    assert (day.builds, day.syncs_absorbed, day.syncs_landed) == (3, 2, 0)
    assert day.windows_met is None


def test_the_write_rewrites_the_period_and_quotes_values() -> None:
    row = DayFigures("marts/o'brien", date(2025, 3, 1), builds=2, syncs_absorbed=3)
    statements = write_statements([row], date(2025, 2, 22))
    assert statements[2] == (
        "delete from ops.automation_savings where activity_date >= cast('2025-02-22' as date)"
    )
    assert (
        "'marts/o''brien', cast('2025-03-01' as date), 2, 0, 3, 1.5, 0, 0, null, 0.0"
        in (statements[3])
    )
    assert len(write_statements([], date(2025, 2, 22))) == 3
