"""What generating the estate needs, planned before it starts: disk, and memory by phase.

A full-scale estate (scale 1.0: 10 M jobs, 50 M GPS events a day) must come up on a 2-core,
24 GiB machine with every process under 8 GiB. The generator's memory model:

* **grows with the scale**: each tenant's arrays (jobs, line items, customers) while they are
  generated and, slimmed, while the SaaS systems are derived from them; QuickBooks' ledger
  (one row of arrays per invoice); the GPS writer's late deliveries waiting for their hour;
* **bounded by a chunk size**: every table is rendered and COPYed :data:`generator.SLICE_ROWS`
  rows (QuickBooks: :data:`quickbooks.CHUNK_ROWS` invoices) at a time, and GPS fixes are drawn
  :data:`telematics.TECH_CHUNK` technicians at a time.

:func:`probe` measures the Jobs DB and SaaS phases on a slice: the generator's in-memory work
at a small scale ``s`` (no PostgreSQL: slices are rendered to CSV and dropped, as the bulk
load renders them), with the slice sizes shrunk by the same factor ``s`` so that the bounded
parts shrink with everything else. Two probes give a line ``a + b * s`` per phase (``a``:
interpreter, vocabularies, allocator arenas; ``b``: everything that grows), which
:func:`plan` reads at 1.0. The GPS writer runs beside the SaaS phase; its fixes are bounded
by the technician chunk, so :func:`gps_probe` measures it once at the real chunk size (a
scale whose fleet fills a chunk) and the plan adds it as measured. PostgreSQL runs in its own
processes, bounded by its configuration (128 MB shared buffers, 256 MB maintenance memory).
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from standins.sources.config import GPS_HISTORY_DAYS, volumes

BUDGET_GIB = 8.0
"""The issue's bound for every process of a scale-1.0 platform."""

# Bytes on disk per row, measured on a generated scale-1.0 estate (PostgreSQL 14.9 GB for 9.7 M
# jobs with everything derived from them: 1.5 KB a job; Parquet 74 B a GPS event), rounded up;
# the disk check adds a quarter for WAL and the first syncs' temporaries.
DISK_BYTES_PER_JOB = 2_000
"""A job with its ~2.75 line items, customer share, invoice, lines and payment."""
DISK_BYTES_PER_GPS_EVENT = 80
GPS_DAYS_ON_DISK = GPS_HISTORY_DAYS + 2
"""The history plus the days the change stream adds before old batches matter."""
DISK_FIXED_BYTES = 1 * 2**30
"""PostgreSQL's own files, the WAL floor, the sheets and the state."""


def disk_needed_bytes(scale: float, n_tenants: int) -> int:
    """Disk the generated estate takes at ``scale`` (an estimate with a quarter's headroom)."""
    vol = volumes(scale, n_tenants)
    jobs = vol.jobs * n_tenants * DISK_BYTES_PER_JOB
    gps = vol.gps_events_per_day * n_tenants * GPS_DAYS_ON_DISK * DISK_BYTES_PER_GPS_EVENT
    return int((jobs + gps) * 1.25 + DISK_FIXED_BYTES)


PLANNED_FIXED_GIB = 0.3
"""The interpreter, libraries and vocabularies (~0.1 GiB measured), with room."""
PLANNED_GIB_PER_SCALE = 5.5
"""What grows, per unit of scale (both tenants): :func:`measured_plan` gives ~4.7 GiB at 1.0;
``tests/integration/sources/test_sources_memory.py`` fails if it ever exceeds this."""


def memory_needed_bytes(scale: float, parallel_tenants: int = 1) -> int:
    """The generating process's planned peak at ``scale`` (the constants above).

    With two tenants generated at once (small scales), the Jobs DB phase holds both tenants'
    working arrays: counted twice.
    """
    return int((PLANNED_FIXED_GIB + PLANNED_GIB_PER_SCALE * scale * parallel_tenants) * 2**30)


def available_memory_bytes() -> int:
    """``MemAvailable`` of /proc/meminfo: what the system can give without swapping."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/meminfo has no MemAvailable")


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_high_water() -> None:
    """Start a new peak: writing 5 to clear_refs resets VmHWM to the current RSS (Linux)."""
    Path("/proc/self/clear_refs").write_text("5")


@dataclass(frozen=True)
class Probe:
    """High-water marks (bytes) of one :func:`probe` run at ``scale``."""

    scale: float
    baseline: int
    jobs_db: int
    saas: int


@dataclass(frozen=True)
class Plan:
    """The planned peak (GiB) of generating at ``scale``, by phase."""

    scale: float
    jobs_db_gib: float
    saas_gib: float
    gps_gib: float
    probes: tuple[float, float]

    @property
    def peak_gib(self) -> float:
        """The process's planned peak: the larger of the Jobs DB phase and SaaS + GPS."""
        return max(self.jobs_db_gib, self.saas_gib + self.gps_gib)


def plan(small: Probe, large: Probe, gps_bytes: int, scale: float = 1.0) -> Plan:
    """The line through two probes per phase, read at ``scale``, plus the GPS writer."""

    def line(a: int, b: int) -> float:
        slope = (b - a) / (large.scale - small.scale)
        return (b + slope * (scale - large.scale)) / 2**30

    return Plan(
        scale=scale,
        jobs_db_gib=line(small.jobs_db, large.jobs_db),
        saas_gib=line(small.saas, large.saas),
        gps_gib=gps_bytes / 2**30,
        probes=(small.scale, large.scale),
    )


def _render(pieces: Iterable[pa.Table]) -> int:
    """Render slices to CSV as the bulk load does, then drop them; rows rendered."""
    from standins.sources.bulkload import _WRITE_OPTIONS, _naive_utc

    rows = 0
    for piece in pieces:
        buffer = io.BytesIO()
        pacsv.write_csv(_naive_utc(piece), buffer, _WRITE_OPTIONS)
        rows += piece.num_rows
    return rows


@contextmanager
def _shrunk(names: dict[object, str], factor: float) -> Iterator[None]:
    """Shrink module-level chunk sizes by ``factor`` for the probe (restored after)."""
    saved = {(module, name): getattr(module, name) for module, name in names.items()}
    try:
        for (module, name), value in saved.items():
            setattr(module, name, max(1, round(value * factor)))
        yield
    finally:
        for (module, name), value in saved.items():
            setattr(module, name, value)


def probe(
    scale: float, seed: int = 42, tenants: tuple[str, ...] = ("bu_north", "bu_south")
) -> Probe:
    """Run the generator's in-memory work at ``scale`` with chunks shrunk by ``scale``.

    Run it in a fresh process (:func:`probe_in_subprocess`): the high-water marks of a process
    that generated something bigger before are not reset by freeing it.
    """
    from standins.sources import generator, quickbooks, salesforce, servicetitan, telematics

    now_us = generator.history_now_us(90)
    baseline = _status_kib("VmRSS") * 1024
    _reset_high_water()
    data = []
    with _shrunk(
        {generator: "SLICE_ROWS", quickbooks: "CHUNK_ROWS", telematics: "TECH_CHUNK"}, scale
    ):
        for name in tenants:
            td = generator.tenant_arrays(seed, scale, tenants, name, 90, now_us)
            for table in ("service_types", "technicians", "customers", "jobs", "job_line_items"):
                _render(generator.tenant_slices(td, table))
            td.slim()
            data.append(td)
        jobs_db = _status_kib("VmHWM") * 1024
        _reset_high_water()
        for td in data:
            _render(salesforce.salesforce(seed, td.tenant, td.customers, now_us).values())
        books = [quickbooks.TenantBooks(td.tenant, td.jobs, td.items, td.customers) for td in data]
        _render(t for _, t in quickbooks.quickbooks_slices(seed, books, now_us))
        del books
        _render(
            servicetitan.servicetitan(
                seed, [(td.tenant, td.jobs, td.services) for td in data], now_us
            ).values()
        )
        saas = _status_kib("VmHWM") * 1024
    return Probe(scale=scale, baseline=baseline, jobs_db=jobs_db, saas=saas)


GPS_PROBE_SCALE = 0.1
"""The smallest round scale whose fleet (~5.2 k technicians) fills a GPS chunk."""


def gps_probe(
    scale: float = GPS_PROBE_SCALE,
    seed: int = 42,
    tenants: tuple[str, ...] = ("bu_north", "bu_south"),
) -> int:
    """Bytes the GPS history writer adds to the process's peak, at the real chunk size.

    Raises:
        ValueError: the fleet at ``scale`` does not fill one chunk (the figure would be low).
    """
    from standins.sources import generator, telematics
    from standins.sources.config import DAY_US, start_us

    fleet = telematics.fleet(seed, scale, tenants)
    if len(fleet.techs.ids) < telematics.TECH_CHUNK:
        raise ValueError(f"scale {scale}: the fleet does not fill a chunk of technicians")
    now_us = generator.history_now_us(90)
    before = _status_kib("VmRSS") * 1024
    _reset_high_water()
    directory = Path(tempfile.mkdtemp(prefix="ff-memplan-"))
    try:
        end = int((now_us - start_us()) // telematics.BATCH_US)
        first = end - GPS_HISTORY_DAYS * int(DAY_US // telematics.BATCH_US)
        for _ in telematics.write_history(seed, fleet, directory, first, end):
            pass
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return max(0, _status_kib("VmHWM") * 1024 - before)


def _in_subprocess(call: str) -> object:
    """Evaluate ``call`` (on this module) in a fresh Python, so its high-water marks are its own."""
    import json
    import subprocess

    code = (
        "import dataclasses, json; from standins.sources import memplan as m;"
        f"r = m.{call}; print(json.dumps(dataclasses.asdict(r) if dataclasses.is_dataclass(r) else r))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def measured_plan(small: float = 0.01, large: float = 0.04, scale: float = 1.0) -> Plan:
    """Probe at ``small`` and ``large`` and the GPS writer, each in a fresh process; the plan."""
    probes = [Probe(**_in_subprocess(f"probe({s!r})")) for s in (small, large)]  # type: ignore[arg-type]
    gps = int(_in_subprocess("gps_probe()"))  # type: ignore[call-overload]
    return plan(probes[0], probes[1], gps, scale)


def main() -> None:
    """``python -m standins.sources.memplan``: the measured plan for scale 1.0, and the disk."""
    measured = measured_plan()
    sys.stdout.write(
        f"{measured}\npeak {measured.peak_gib:.2f} GiB (budget {BUDGET_GIB} GiB); "
        f"disk at 1.0: {disk_needed_bytes(1.0, 2) / 2**30:.1f} GiB\n"
    )


if __name__ == "__main__":
    main()
