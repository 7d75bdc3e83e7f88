"""The generated estate: integrity across systems, determinism, change-stream semantics, truth."""

import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from standins.sources import catalog
from standins.sources.bulkload import connect
from standins.sources.config import HOUR_US, from_us, to_us
from standins.sources.errors import EstateError
from standins.sources.estate import Estate

from tests.integration.sources.conftest import ADVANCE_MINUTES, NOW, SCALE, Generated


def rows(dsn: str, sql: str, *params: object) -> list[tuple]:
    with connect(dsn) as conn:
        return conn.execute(sql, params or None).fetchall()


def one(dsn: str, sql: str, *params: object) -> object:
    return rows(dsn, sql, *params)[0][0]


@pytest.fixture(scope="module")
def info(generated: Generated) -> dict:
    return generated.estate.connection_info()


# -- layout -----------------------------------------------------------------------------------


def test_connection_info_and_state_file(generated: Generated, info: dict) -> None:
    assert set(info["jobs_db_dsns"]) == {"bu_north", "bu_south"}
    assert info["saas_dsn"].endswith("/saas")
    state = json.loads(Path(info["state_path"]).read_text())
    assert state["seed"] == 42 and state["scale"] == SCALE and state["generated"]
    assert datetime.fromisoformat(state["clock"]) == datetime(2026, 4, 1, 6, tzinfo=UTC)
    assert sorted(Path(info["telematics_dir"]).glob("batch_*.parquet"))
    assert (Path(info["sheets_dir"]) / "regional_targets.csv").exists()


def test_every_catalog_table_exists_and_has_rows(info: dict) -> None:
    for dsn in info["jobs_db_dsns"].values():
        for table in catalog.JOBS_DB.tables:
            assert one(dsn, f'select count(*) from public."{table.name}"') > 0, table.name
    for system in (catalog.SALESFORCE, catalog.QUICKBOOKS, catalog.SERVICETITAN):
        for table in system.tables:
            cols = [
                r[0]
                for r in rows(
                    info["saas_dsn"],
                    "select column_name from information_schema.columns"
                    " where table_schema = %s and table_name = %s order by ordinal_position",
                    system.schema,
                    table.name,
                )
            ]
            assert cols == [c.name for c in table.columns], table.name
            assert (
                one(info["saas_dsn"], f'select count(*) from {system.schema}."{table.name}"') > 0
            ), table.name


# -- determinism ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def twin(base_dir: Path, generated: Generated) -> dict:
    """A second estate with the same seed, advanced in uneven chunks to the same clock."""
    with Estate(base_dir / "twin", seed=42, scale=SCALE) as estate:
        estate.generate(now=NOW)
        initial = estate.checksums()
        for minutes in (7, 50, 3, 100, 200):
            estate.advance(minutes)
        return {"initial": initial, "advanced": estate.checksums()}


def test_same_seed_gives_identical_checksums(generated: Generated, twin: dict) -> None:
    assert twin["initial"] == generated.checksums_initial
    assert len(twin["initial"]) == 5 * 2 + 2 + 4 + 3 + 3 + 2


def test_change_stream_is_seeded_by_clock_position(generated: Generated, twin: dict) -> None:
    assert ADVANCE_MINUTES == 7 + 50 + 3 + 100 + 200
    assert twin["advanced"] == generated.checksums_advanced


def test_different_seed_gives_different_data(base_dir: Path, generated: Generated) -> None:
    with Estate(base_dir / "other", seed=7, scale=SCALE) as estate:
        estate.generate(now=NOW)
        other = estate.checksums()
    differing = [k for k in other if other[k] != generated.checksums_initial[k]]
    assert len(differing) >= len(other) - 3  # empty capture logs are equal


# -- referential integrity --------------------------------------------------------------------


def test_jobs_db_integrity(info: dict) -> None:
    for dsn in info["jobs_db_dsns"].values():
        assert (
            one(
                dsn,
                "select count(*) from jobs j left join customers c using (customer_id) where c.customer_id is null",
            )
            == 0
        )
        assert (
            one(
                dsn,
                "select count(*) from jobs j left join technicians t using (technician_id) where t.technician_id is null",
            )
            == 0
        )
        assert (
            one(
                dsn,
                "select count(*) from jobs j left join service_types s using (service_type_id) where s.service_type_id is null",
            )
            == 0
        )
        assert (
            one(
                dsn,
                "select count(*) from job_line_items li left join jobs j using (job_id) where j.job_id is null",
            )
            == 0
        )
        mismatched = one(
            dsn,
            """
            select count(*) from jobs j
            left join (select job_id, sum(amount_cents) as s from job_line_items group by 1) li using (job_id)
            where coalesce(li.s, 0) <> j.total_amount_cents""",
        )
        assert mismatched == 0
        assert (
            one(
                dsn,
                "select count(*) from jobs where status = 'completed' and (completed_at is null or started_at is null"
                " or completed_at <= started_at)",
            )
            == 0
        )
        assert (
            one(
                dsn,
                "select count(*) from jobs j join customers c using (customer_id) where c.region_id <> j.region_id",
            )
            == 0
        )


def test_invoices_mirror_completed_jobs(info: dict) -> None:
    invoices = {
        (t, j): (total, status, txn)
        for t, j, total, status, txn in rows(
            info["saas_dsn"],
            "select tenant, job_id, total_amt, status, txn_date from quickbooks.invoice",
        )
    }
    assert len(invoices) == one(info["saas_dsn"], "select count(*) from quickbooks.invoice")
    for tenant, dsn in info["jobs_db_dsns"].items():
        completed = rows(
            dsn,
            "select job_id, total_amount_cents, (completed_at at time zone 'UTC')::date from jobs"
            " where status = 'completed'",
        )
        for job_id, cents, day in completed:
            total, status, txn = invoices[(tenant, job_id)]
            assert status != "Voided"
            assert total == Decimal(cents) / 100
            assert txn == day
        live = {r[0] for r in rows(dsn, "select job_id from jobs")}
        for (t, job_id), (total, status, _) in invoices.items():
            if t == tenant and job_id not in live:
                assert status == "Voided" and total == 0
    bad_lines = one(
        info["saas_dsn"],
        """
        select count(*) from quickbooks.invoice i
        left join (select invoice_id, sum(amount) as s from quickbooks.invoice_line group by 1) l on l.invoice_id = i.id
        where coalesce(l.s, 0) <> i.total_amt""",
    )
    assert bad_lines == 0
    assert (
        one(
            info["saas_dsn"],
            "select count(*) from quickbooks.payment p join quickbooks.invoice i on i.id = p.invoice_id"
            " where p.total_amt <> i.total_amt and i.status <> 'Voided'",
        )
        == 0
    )
    assert (
        one(
            info["saas_dsn"],
            "select count(*) from quickbooks.invoice where status = 'Paid' and balance <> 0",
        )
        == 0
    )


def test_salesforce_accounts_link_to_customers(info: dict) -> None:
    accounts = {
        r[0]: r[1:]
        for r in rows(
            info["saas_dsn"],
            'select "Customer_Id__c", "Tenant__c", "Id", "IsDeleted" from salesforce."Account"',
        )
    }
    for tenant, dsn in info["jobs_db_dsns"].items():
        customers = rows(
            dsn, "select customer_id, sf_account_id, deleted_at is not null from customers"
        )
        for customer_id, sf_id, deleted in customers:
            acct_tenant, acct_id, is_deleted = accounts[customer_id]
            assert (acct_tenant, acct_id) == (tenant, sf_id)
            assert is_deleted == deleted
    assert (
        one(
            info["saas_dsn"],
            'select count(*) from salesforce."Contact" c left join salesforce."Account" a'
            ' on a."Id" = c."AccountId" where a."Id" is null',
        )
        == 0
    )
    assert (
        one(
            info["saas_dsn"],
            'select count(*) from salesforce."Case" c left join salesforce."Contact" k'
            ' on k."Id" = c."ContactId" where k."Id" is null',
        )
        == 0
    )


def test_servicetitan_ties_to_jobs_and_technicians(info: dict) -> None:
    st_jobs = rows(
        info["saas_dsn"],
        "select business_unit, fieldforce_job_id, job_status from servicetitan.jobs",
    )
    techs = set()
    for tenant, dsn in info["jobs_db_dsns"].items():
        live = dict(rows(dsn, "select job_id, status from jobs"))
        techs |= {r[0] for r in rows(dsn, "select technician_id from technicians")}
        mapping = dict(
            zip(
                catalog.JOB_STATUSES,
                ("Scheduled", "Dispatched", "InProgress", "Completed", "Canceled", "Hold"),
                strict=True,
            )
        )
        for bu, ff, status in st_jobs:
            if bu == tenant:
                assert status == (mapping[live[ff]] if ff in live else "Canceled")
    appointment_techs = {
        r[0] for r in rows(info["saas_dsn"], "select technician_id from servicetitan.appointments")
    }
    assert appointment_techs <= techs
    assert (
        one(
            info["saas_dsn"],
            "select count(*) from servicetitan.appointments a left join servicetitan.jobs j"
            " on j.id = a.job_id where j.id is null",
        )
        == 0
    )
    assert (
        one(
            info["saas_dsn"],
            "select count(*) from servicetitan.timesheets where clock_out < clock_in",
        )
        == 0
    )


def test_gps_events_belong_to_technicians(info: dict) -> None:
    table = pq.read_table(info["telematics_dir"])
    techs = set()
    for dsn in info["jobs_db_dsns"].values():
        techs |= {r[0] for r in rows(dsn, "select technician_id from technicians")}
    assert set(pc.unique(table["technician_id"]).to_pylist()) <= techs
    assert pc.all(pc.greater(table["received_at"], table["event_at"])).as_py()


# -- change stream ----------------------------------------------------------------------------


def test_clock_and_updated_at_advance(generated: Generated, info: dict) -> None:
    start = from_us(generated.clock_initial_us)
    assert generated.estate.clock == datetime(2026, 4, 1, 6, tzinfo=UTC)
    for dsn in info["jobs_db_dsns"].values():
        changed = one(dsn, "select count(*) from jobs where updated_at >= %s", start)
        assert changed > 0
        assert one(dsn, "select max(updated_at) from jobs") < generated.estate.clock
        statuses = {r[0] for r in rows(dsn, "select distinct status from jobs")}
        assert {"scheduled", "completed", "cancelled"} <= statuses


def test_hard_deletes_disappear_and_are_captured(generated: Generated, info: dict) -> None:
    start = from_us(generated.clock_initial_us)
    captured = 0
    for dsn in info["jobs_db_dsns"].values():
        deleted = rows(
            dsn,
            "select table_name, (pk->>'job_id')::bigint, (pk->>'line_item_id')::bigint, deleted_at"
            " from cdc.deleted_rows",
        )
        for table_name, job_id, item_id, deleted_at in deleted:
            assert deleted_at >= start
            if table_name == "jobs":
                assert one(dsn, "select count(*) from jobs where job_id = %s", job_id) == 0
            else:
                assert (
                    one(dsn, "select count(*) from job_line_items where line_item_id = %s", item_id)
                    == 0
                )
        captured += sum(1 for d in deleted if d[0] == "jobs")
    assert captured > 0


def test_soft_deletes_stay_readable(generated: Generated, info: dict) -> None:
    start = from_us(generated.clock_initial_us)
    flagged = 0
    for dsn in info["jobs_db_dsns"].values():
        flagged += one(
            dsn,
            "select count(*) from customers where deleted_at >= %s and updated_at = deleted_at",
            start,
        )
    assert flagged > 0
    assert one(info["saas_dsn"], 'select count(*) from salesforce."Account" where "IsDeleted"') > 0


def test_late_arriving_jobs_carry_old_event_times(generated: Generated, info: dict) -> None:
    start = from_us(generated.clock_initial_us)
    late = 0
    for dsn in info["jobs_db_dsns"].values():
        late += one(
            dsn,
            "select count(*) from jobs where created_at < %s and updated_at >= %s"
            " and completed_at < %s - interval '1 hour' and status = 'completed'",
            start,
            start,
            start,
        )
    assert late > 0


def test_gps_batches_written_by_the_stream_hold_late_and_duplicate_deliveries(
    generated: Generated, info: dict
) -> None:
    files = sorted(Path(info["telematics_dir"]).glob("batch_*.parquet"))
    origin = to_us(generated.estate.time_origin)  # batches are numbered by hours since it
    new = [
        f
        for f in files
        if origin + int(f.stem.split("_")[1]) * HOUR_US >= generated.clock_initial_us
    ]
    assert len(new) == ADVANCE_MINUTES // 60
    table = pq.read_table(files)
    lag = pc.subtract(table["received_at"].cast("int64"), table["event_at"].cast("int64"))
    assert pc.max(lag).as_py() > HOUR_US
    assert len(pc.unique(table["event_id"])) < table.num_rows


def test_hand_edits_bump_updated_at(generated: Generated, info: dict) -> None:
    dsn = info["jobs_db_dsns"]["bu_north"]
    customer_id, before = rows(
        dsn, "select customer_id, updated_at from customers order by customer_id limit 1"
    )[0]
    with connect(dsn) as conn:
        after = conn.execute(
            "update customers set city = city || '' where customer_id = %s returning updated_at",
            (customer_id,),
        ).fetchone()[0]
        conn.rollback()
    assert after > before
    assert after >= from_us(generated.clock_initial_us)


# -- ground truth -----------------------------------------------------------------------------


def test_ground_truth_matches_raw_rows_and_quickbooks(generated: Generated, info: dict) -> None:
    truth = generated.estate.ground_truth()
    revenue = {
        (r["date"], r["region_id"]): r["revenue_cents"] for r in truth["revenue_by_day_region"]
    }
    from_jobs: dict = defaultdict(int)
    from_invoices: dict = defaultdict(int)
    technicians: dict = defaultdict(set)
    per_status: dict = defaultdict(int)
    invoices = {
        (t, j): total
        for t, j, total in rows(
            info["saas_dsn"],
            "select tenant, job_id, total_amt from quickbooks.invoice where status <> 'Voided'",
        )
    }
    for tenant, dsn in info["jobs_db_dsns"].items():
        for job_id, status, region, cents, completed, scheduled, tech in rows(
            dsn,
            "select job_id, status, region_id, total_amount_cents, completed_at, scheduled_at, technician_id from jobs",
        ):
            per_status[(scheduled.astimezone(UTC).date().isoformat(), status)] += 1
            if status == "completed":
                day = completed.astimezone(UTC).date().isoformat()
                from_jobs[(day, region)] += cents
                from_invoices[(day, region)] += int(invoices[(tenant, job_id)] * 100)
                technicians[day].add(tech)
    assert revenue == dict(from_jobs)
    assert revenue == dict(from_invoices)
    assert {
        (r["date"], r["status"]): r["jobs"] for r in truth["jobs_by_scheduled_day_status"]
    } == dict(per_status)
    assert {r["date"]: r["active_technicians"] for r in truth["active_technicians_by_day"]} == {
        d: len(t) for d, t in technicians.items()
    }
    assert truth != generated.truth_initial, "the stream changes the figures"


def test_ground_truth_json(generated: Generated, base_dir: Path) -> None:
    path = generated.estate.write_ground_truth(base_dir / "truth" / "truth.json")
    data = json.loads(path.read_text())
    assert set(data) == {
        "revenue_by_day_region",
        "jobs_by_scheduled_day_status",
        "active_technicians_by_day",
    }
    assert all(isinstance(r["revenue_cents"], int) for r in data["revenue_by_day_region"])


# -- reuse and errors -------------------------------------------------------------------------


def test_reopening_a_home_reuses_its_data(base_dir: Path) -> None:
    home = base_dir / "reuse"
    with Estate(home, seed=3, scale=SCALE, tenants=1) as estate:
        estate.generate()
        before = estate.checksums()
    reopened = Estate(home)
    assert (reopened.seed, reopened.scale, reopened.tenants) == (3, SCALE, ("bu_north",))
    with reopened:
        assert reopened.checksums() == before


def test_estate_errors_are_one_line(base_dir: Path) -> None:
    for kwargs, word in (
        ({"scale": 0}, "scale"),
        ({"scale": 2}, "scale"),
        ({"scale": "big"}, "scale"),
        ({"seed": -1}, "seed"),
    ):
        with pytest.raises(EstateError) as err:
            Estate(base_dir / "x", **kwargs)
        assert word in str(err.value) and "\n" not in str(err.value)
    blocker = base_dir / "file_not_dir"
    blocker.write_text("")
    with pytest.raises(EstateError, match="not writable"):
        Estate(blocker / "home").start()
    with pytest.raises(EstateError, match="not started"):
        Estate(base_dir / "never").advance(5)


def test_other_processes_share_a_running_estate_and_orphans_get_stopped(base_dir: Path) -> None:
    import subprocess
    import sys

    from standins.sources.postgres import postgres_processes

    home = base_dir / "shared"
    cli = [sys.executable, "-m", "standins.sources", "--home", str(home)]
    with Estate(home, seed=1, scale=SCALE, tenants=1) as estate:
        estate.generate(now=NOW)
        out = subprocess.run([*cli, "advance", "10"], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "2026-04-01T00:10:00+00:00"
        assert estate.cluster is not None and estate.cluster.is_running(), (
            "the CLI left our server running"
        )
        assert estate.clock == datetime(2026, 4, 1, 0, 10, tzinfo=UTC)
    assert postgres_processes(home / "pg") == []
    # a run killed while its server was up leaves an orphan: the next estate adopts and stops it
    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from standins.sources.estate import Estate;"
            f" Estate({str(home)!r}).start(); print('up', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert starter.stdout is not None and starter.stdout.readline().strip() == "up"
    finally:
        starter.kill()
        starter.wait()
    assert postgres_processes(home / "pg") != []
    orphan = Estate(home).start()
    assert orphan.owns_cluster
    orphan.stop()
    assert postgres_processes(home / "pg") == []
    bad = subprocess.run([*cli, "generate", "--scale", "7"], capture_output=True, text=True)
    assert (
        bad.returncode == 2
        and bad.stderr.startswith("error: scale '7'")
        and bad.stderr.count("\n") == 1
    )
