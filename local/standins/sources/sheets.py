"""Google Sheets: the finance team's ``regional_targets`` sheet, exported as CSV.

Targets exist per region served and month, from the first month of the history to two months
past the simulated now. The sheet is edited by hand, so each simulated day revises the
current month's figures a little; the file is always rewritten whole (the sync replaces it).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import numpy as np

from standins.sources import catalog, vocab
from standins.sources.config import DAY_US, REGION_WEIGHTS, Volumes, start, start_us
from standins.sources.rand import uniform

AVERAGE_TICKET_CENTS = 60_000
"""Planning assumption for revenue per completed job."""


def _months(now_us: int) -> list[date]:
    first = start().date()
    now_day = first.fromordinal(first.toordinal() + (now_us - start_us()) // DAY_US)
    months, y, m = [], first.year, first.month
    end = (now_day.year * 12 + now_day.month - 1) + 2
    while y * 12 + m - 1 <= end:
        months.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


def regional_targets(seed: int, vol: Volumes, tenants: tuple[str, ...], now_us: int) -> bytes:
    """The CSV bytes of the sheet as it reads at ``now`` (revised once per simulated day)."""
    from standins.sources.config import tenant_regions

    served = sorted({r.region_id for t in tenants for r in tenant_regions(t, tenants)})
    total_weight = {
        t: sum(REGION_WEIGHTS[r.region_id] for r in tenant_regions(t, tenants)) for t in tenants
    }
    owner_of = {r.region_id: t for t in tenants for r in tenant_regions(t, tenants)}
    revision = (now_us - start_us()) // DAY_US
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in catalog.SHEETS.table("regional_targets").columns])
    for month in _months(now_us):
        days = (date(month.year + month.month // 12, month.month % 12 + 1, 1) - month).days
        for region_id in served:
            share = REGION_WEIGHTS[region_id] / total_weight[owner_of[region_id]]
            key = month.year * 100 + month.month
            base_jobs = vol.jobs_per_day * share * days * 0.9
            drift = 1 + 0.1 * (float(uniform(seed, "target", region_id, key)[0]) - 0.5)
            edit = 1 + 0.02 * (
                float(uniform(seed, "target_edit", region_id, key, revision)[0]) - 0.5
            )
            jobs = int(np.round(base_jobs * drift * edit))
            revenue_cents = int(np.round(jobs * AVERAGE_TICKET_CENTS * drift, -4))
            owner = vocab.SHEET_OWNERS[region_id % len(vocab.SHEET_OWNERS)]
            writer.writerow(
                [
                    region_id,
                    month.isoformat(),
                    f"{revenue_cents // 100}.{revenue_cents % 100:02d}",
                    jobs,
                    owner,
                ]
            )
    return out.getvalue().encode()


def write(directory: Path, content: bytes) -> Path:
    """Replace the sheet export atomically (a reader never sees half a file)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "regional_targets.csv"
    tmp = path.with_suffix(".csv.tmp")
    tmp.write_bytes(content)
    tmp.replace(path)
    return path
