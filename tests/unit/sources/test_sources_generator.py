"""In-memory generator properties (no PostgreSQL)."""

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest
from standins.sources import (
    arrowcols,
    config,
    jobsdb,
    pgsystem,
    postgres,
    sheets,
    telematics,
    timeline,
)
from standins.sources.errors import EstateError
from standins.sources.generator import build_tenant, history_now_us

NOW = history_now_us(90)
TENANTS = ("bu_north", "bu_south")
SCALE = 0.0004


@pytest.fixture(scope="module")
def north() -> object:
    return build_tenant(42, SCALE, TENANTS, "bu_north", 90, NOW)


def test_same_seed_same_tables_other_seed_differs(north: object) -> None:
    again = build_tenant(42, SCALE, TENANTS, "bu_north", 90, NOW)
    other = build_tenant(7, SCALE, TENANTS, "bu_north", 90, NOW)
    for name, table in north.tables.items():
        assert table.equals(again.tables[name]), name
    assert not north.tables["jobs"].equals(other.tables["jobs"])
    assert not north.tables["customers"].equals(other.tables["customers"])


def test_job_totals_are_the_sum_of_line_items(north: object) -> None:
    jobs, items = north.jobs, north.items
    sums = np.zeros(len(jobs.ids), dtype=np.int64)
    np.add.at(sums, np.searchsorted(jobs.ids, items.job_id), items.amount_cents)
    assert (sums == jobs.total_cents).all()
    assert (jobs.total_cents > 0).all()
    kinds = set(pc.unique(north.tables["job_line_items"]["item_type"]).to_pylist())
    assert kinds == {"labor", "part", "fee", "discount"}


def test_job_timestamps_are_consistent(north: object) -> None:
    j = north.jobs
    assert (j.created <= j.scheduled).all()
    assert (j.created <= NOW).all()
    started = j.started >= 0
    assert (j.completed[j.completed >= 0] > j.started[j.completed >= 0]).all()
    assert (j.status[j.completed >= 0] == jobsdb.STATUS["completed"]).all()
    assert (j.cancelled[j.cancelled >= 0] <= NOW).all()
    assert not (started & (j.cancelled >= 0)).any()
    assert (j.updated <= NOW).all()
    statuses = {int(s) for s in np.unique(j.status)}
    assert {jobsdb.STATUS[s] for s in ("scheduled", "completed", "cancelled")} <= statuses


def test_jobs_start_inside_the_technicians_local_shift(north: object) -> None:
    j, t = north.jobs, north.technicians
    row = np.searchsorted(t.ids, j.technician_id)
    # local working hours are 06:00-19:00 and US offsets -4..-8 h: six hours back is the local day
    day = (j.scheduled - 6 * config.HOUR_US - config.EPOCH_US) // config.DAY_US
    offset = timeline.utc_offset_minutes(t.tz[row], day)
    local_min = ((j.scheduled // config.MINUTE_US + offset) % (24 * 60)).astype(np.int64)
    assert (local_min >= t.shift_start_min[row]).all()
    assert (local_min < t.shift_start_min[row] + t.shift_len_min[row]).all()
    assert t.works(day, row).all(), "jobs only on the technician's working days"


def test_jobs_reference_their_tenants_regions_and_customers(north: object) -> None:
    j, c = north.jobs, north.customers
    regions = {r.region_id for r in config.tenant_regions("bu_north", TENANTS)}
    assert set(np.unique(j.region_id)) <= regions
    cust_row = j.customer_id - c.ids[0]
    assert (c.region_id[cust_row] == j.region_id).all()
    assert (c.created[cust_row] < j.created).all()
    assert j.ids.min() > config.tenant_index("bu_north") * 100_000_000


def test_money_strings_are_exact() -> None:
    out = arrowcols.money(np.array([0, 5, -5, 12345, -100])).to_pylist()
    assert out == ["0.00", "0.05", "-0.05", "123.45", "-1.00"]


def test_gps_late_and_duplicate_deliveries() -> None:
    fl = telematics.fleet(42, SCALE, TENANTS)
    d = telematics.day_deliveries(42, fl, 80)
    delay = d["received_at"] - d["event_at"]
    assert (delay > 0).all()
    assert (delay <= config.LATE_MAX_HOURS * config.HOUR_US).all()
    assert (delay > config.HOUR_US).mean() > 0.003
    table = telematics.to_table(42, fl, d)
    ids = table["event_id"]
    assert len(pc.unique(ids)) < len(ids), "some fixes are delivered twice"
    assert all(len(x) == 32 for x in ids.to_pylist()[:10])
    assert table.equals(telematics.to_table(42, fl, telematics.day_deliveries(42, fl, 80)))


def test_sheet_covers_every_region_and_month() -> None:
    body = sheets.regional_targets(42, config.volumes(SCALE, 2), TENANTS, NOW).decode().splitlines()
    assert body[0] == "Region ID,Month,Revenue Target,Jobs Target,Owner"
    assert len(body) - 1 == 8 * 6  # Jan..Jun 2026


def test_missing_binary_error_names_it_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(pgsystem.glob, "glob", lambda pattern: [])
    with pytest.raises(EstateError) as err:
        postgres.PostgresCluster(tmp_path / "pg").start()
    assert "'initdb'" in str(err.value) and "apt-get install postgresql-15" in str(err.value)
    assert not (tmp_path / "pg").exists()
