"""The estate's start: its clock ends at the generation's now, and one seed is one story.

The estate starts at a UTC midnight before the moment it is generated and is run on to that
moment, so its data meets the real calendar; everything is measured from the start, so the
same seed generated a week later is the same data, a week later.
"""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standins.sources import catalog
from standins.sources.bulkload import connect
from standins.sources.config import DAY_US, STEP_MINUTES, from_us, grid_floor_us, to_us
from standins.sources.estate import Estate

from tests.integration.sources.conftest import SCALE

SUMMER = datetime(2026, 7, 1, 10, 17, 42, tzinfo=UTC)
"""A generation moment whose history and booking horizon stay inside one daylight-saving
period (April to mid-July), so that a week's shift changes no local offset."""


def _relative_digests(dsn: str, start: datetime, schemas: tuple[str, ...]) -> dict[str, str]:
    """An md5 per table of its rows with every time written as an offset from ``start``."""
    digests = {}
    with connect(dsn) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema = any(%s) and table_type = 'BASE TABLE' order by 1, 2",
            (list(schemas),),
        ).fetchall()
        for schema, table in tables:
            columns = conn.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = %s and table_name = %s order by ordinal_position",
                (schema, table),
            ).fetchall()
            parts = []
            for name, kind in columns:
                if kind.startswith("timestamp"):
                    parts.append(f'("{name}" - %(start)s::timestamptz)::text')
                elif kind == "date":
                    parts.append(f'("{name}" - %(start)s::date)::text')
                else:
                    parts.append(f'"{name}"::text')
            row = "concat_ws('|', " + ", ".join(f"coalesce({p}, '~')" for p in parts) + ")"
            digests[f"{schema}.{table}"] = conn.execute(
                f"select md5(coalesce(string_agg(r, E'\\n' order by r), '')) from (select {row} as r from \"{schema}\".\"{table}\") t",
                {"start": start},
            ).fetchone()[0]
    return digests


def _generated_at(home: Path, now: datetime) -> tuple[datetime, dict[str, str]]:
    with Estate(home, seed=5, scale=SCALE, tenants=1) as estate:
        estate.generate(now=now)
        start = estate.time_origin
        info = estate.connection_info()
        digests = _relative_digests(info["jobs_db_dsns"]["bu_north"], start, ("public",))
        saas = (catalog.SALESFORCE.schema, catalog.QUICKBOOKS.schema, catalog.SERVICETITAN.schema)
        digests |= _relative_digests(info["saas_dsn"], start, saas)
        assert estate.clock == from_us(grid_floor_us(now))
    return start, digests


def test_the_clock_ends_at_the_real_now_and_every_process_reads_the_start(
    base_dir: Path,
) -> None:
    home = base_dir / "real_now"
    before = datetime.now(UTC)
    with Estate(home, seed=5, scale=SCALE, tenants=1) as estate:
        estate.generate()
        after = datetime.now(UTC)
        grid = timedelta(minutes=STEP_MINUTES)
        assert before - grid < estate.clock <= after
        start = estate.time_origin
        assert to_us(start) % DAY_US == 0
        assert start.date() == (estate.clock - timedelta(days=estate.history_days)).date()
        state = json.loads((home / "sources" / "estate.json").read_text())
        assert datetime.fromisoformat(state["start"]) == start
        # The data reaches the present: jobs changed in the last hours, none after the clock.
        dsn = estate.jobs_db_dsns()["bu_north"]
        with connect(dsn) as conn:
            newest = conn.execute("select max(updated_at) from jobs").fetchone()[0]
        assert estate.clock - timedelta(hours=6) < newest <= estate.clock
    # Another process (a fresh Estate of the same home) measures time from the same start.
    assert Estate(home).time_origin == start


@pytest.fixture(scope="module")
def week_apart(base_dir: Path) -> dict[str, tuple[datetime, dict[str, str]]]:
    return {
        "first": _generated_at(base_dir / "week_1", SUMMER),
        "later": _generated_at(base_dir / "week_2", SUMMER + timedelta(days=7)),
    }


def test_one_seed_generated_a_week_later_is_the_same_data_a_week_later(
    week_apart: dict[str, tuple[datetime, dict[str, str]]],
) -> None:
    (first_start, first), (later_start, later) = week_apart["first"], week_apart["later"]
    assert later_start - first_start == timedelta(days=7)
    assert len(first) >= 5 + 4 + 3 + 3
    assert {table: digest for table, digest in later.items() if first[table] != digest} == {}


def test_the_generator_draws_by_time_since_the_start() -> None:
    """In memory, without PostgreSQL: each generator part measures time from the start."""
    import numpy as np
    from standins.sources.config import estate_start, start_for
    from standins.sources.generator import build_tenant, history_now_us

    def relative(now: datetime) -> dict[str, np.ndarray]:
        origin = start_for(now, 90)
        with estate_start(origin):
            td = build_tenant(5, SCALE, ("bu_north",), "bu_north", 90, history_now_us(90))
        return {
            "scheduled": td.jobs.scheduled - origin,
            "created": td.jobs.created - origin,
            "updated": td.jobs.updated - origin,
            "customers": td.customers.created - origin,
            "hired": td.technicians.hire_day,
        }

    first, later = relative(SUMMER), relative(SUMMER + timedelta(days=7))
    assert {key: bool(np.array_equal(first[key], later[key])) for key in first} == dict.fromkeys(
        first, True
    )


def test_a_reused_estate_catches_up_to_the_calendar_with_the_changes_it_missed(
    base_dir: Path, week_apart: dict[str, tuple[datetime, dict[str, str]]]
) -> None:
    """Stopped at 07:15 and started again at SUMMER: the same data as generated at SUMMER."""
    home = base_dir / "stopped_earlier"
    stopped_at = SUMMER - timedelta(hours=3, minutes=2)
    with Estate(home, seed=5, scale=SCALE, tenants=1) as estate:
        estate.generate(now=stopped_at)
    with Estate(home, seed=5, scale=SCALE, tenants=1) as estate:
        steps: list[tuple[str, int, int]] = []
        applied = estate.catch_up(lambda *step: steps.append(step), now=SUMMER)
        assert estate.clock == from_us(grid_floor_us(SUMMER))
        assert applied == (grid_floor_us(SUMMER) - grid_floor_us(stopped_at)) / 60e6
        assert steps[-1][1] == steps[-1][2] == 3  # 07:15 -> 10:15, hour by hour
        assert estate.catch_up(now=SUMMER) == 0.0
        start = estate.time_origin
        info = estate.connection_info()
        digests = _relative_digests(info["jobs_db_dsns"]["bu_north"], start, ("public",))
        saas = (catalog.SALESFORCE.schema, catalog.QUICKBOOKS.schema, catalog.SERVICETITAN.schema)
        digests |= _relative_digests(info["saas_dsn"], start, saas)
    first_start, first = week_apart["first"]
    assert start == first_start
    assert {table: d for table, d in digests.items() if first[table] != d} == {}
