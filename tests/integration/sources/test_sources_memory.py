"""Scale 1.0 fits: the generator's memory plan, measured on a slice, and its resource errors.

The plan (``standins.sources.memplan``) probes the generator's in-memory work at two small
scales in fresh processes, with its slice sizes shrunk by the same factor, and reads the line
through them at 1.0; the GPS writer, bounded by its technician chunk, is measured once at the
real chunk size. One real scale-1.0 run is reported in the issue's note, not here.
"""

import errno
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pytest
from standins.sources import generator, memplan
from standins.sources.errors import EstateError


@pytest.fixture(scope="module")
def plan() -> memplan.Plan:
    return memplan.measured_plan(small=0.01, large=0.04)


def test_scale_1_memory_plan_stays_under_8_gib(plan: memplan.Plan) -> None:
    assert plan.probes == (0.01, 0.04)
    # Each phase grows with the scale (else the probes measured nothing) ...
    assert 0.5 < plan.jobs_db_gib and 0.5 < plan.saas_gib and 0.05 < plan.gps_gib
    # ... and the process's peak at 1.0 stays inside the bound,
    assert plan.peak_gib <= memplan.BUDGET_GIB
    # ... and inside what the generator's own pre-flight check assumes (never optimistic).
    assert plan.peak_gib * 2**30 <= memplan.memory_needed_bytes(1.0)


def test_the_plan_is_a_line_through_the_probes() -> None:
    small = memplan.Probe(scale=0.01, baseline=100, jobs_db=1_100, saas=600)
    large = memplan.Probe(scale=0.04, baseline=100, jobs_db=4_100, saas=1_800)
    planned = memplan.plan(small, large, gps_bytes=2**30)
    assert planned.jobs_db_gib * 2**30 == pytest.approx(1_100 + 100_000 * 0.99)
    assert planned.saas_gib * 2**30 == pytest.approx(600 + 40_000 * 0.99)
    assert planned.peak_gib == pytest.approx(planned.saas_gib + 1.0)


def test_generated_slices_are_the_whole_tables() -> None:
    """Rendered in slices, a tenant's tables are the very tables built whole."""
    now = generator.history_now_us(90)
    whole = generator.build_tenant(42, 0.001, ("bu_north", "bu_south"), "bu_south", 90, now)
    sliced = generator.tenant_arrays(42, 0.001, ("bu_north", "bu_south"), "bu_south", 90, now)
    for name, table in whole.tables.items():
        pieces = list(generator.tenant_slices(sliced, name, rows=977))
        if name in ("jobs", "job_line_items"):
            assert len(pieces) == -(-table.num_rows // 977) > 1, name
        assert pa.concat_tables(pieces).equals(table), name
    sliced.slim()
    assert np.array_equal(sliced.items.amount_cents, whole.items.amount_cents)
    assert len(sliced.items.ids) == 0


def test_a_disk_too_small_stops_before_anything_is_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memplan, "DISK_BYTES_PER_JOB", 10**12)
    with pytest.raises(EstateError) as caught:
        generator.check_resources(generator.Paths(tmp_path / "home"), 1.0, 2)
    message = str(caught.value)
    assert "not enough disk" in message and str(tmp_path / "home") in message
    assert "GiB needed" in message and "\n" not in message


def test_too_little_memory_stops_naming_what_is_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memplan, "available_memory_bytes", lambda: 2**30)
    with pytest.raises(EstateError, match=r"not enough memory .* scale 1\.0: ~5\.8 GiB needed"):
        generator.check_resources(generator.Paths(tmp_path), 1.0, 2)
    generator.check_resources(generator.Paths(tmp_path), 0.0001, 2)  # tiny: fits


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (MemoryError(), "out of memory while loading jobs_bu_north.jobs (/data/pg)"),
        (
            OSError(errno.ENOSPC, "No space left"),
            "disk full while loading jobs_bu_north.jobs (/data/pg)",
        ),
        (psycopg.errors.DiskFull("could not extend file"), "PostgreSQL said could not extend file"),
    ],
)
def test_scale_errors_name_the_step_and_the_place(error: BaseException, expected: str) -> None:
    with (
        pytest.raises(EstateError) as caught,
        generator.scale_errors("loading jobs_bu_north.jobs", Path("/data/pg")),
    ):
        raise error
    assert expected in str(caught.value)


def test_other_errors_pass_through() -> None:
    with pytest.raises(PermissionError), generator.scale_errors("loading", "/x"):
        raise PermissionError(errno.EACCES, "denied")
