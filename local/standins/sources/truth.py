"""Ground truth computed from the sources themselves (never from the warehouse).

The dbt marts reconcile to these figures, so the definitions are exact:

* **revenue per UTC day and region**: for every tenant's Jobs DB, the sum of
  ``jobs.total_amount_cents`` over jobs with ``status = 'completed'``, grouped by
  ``(completed_at at time zone 'UTC')::date`` and ``jobs.region_id``, then summed over tenants.
  Hard-deleted jobs are gone from ``jobs`` and so excluded; soft-deleted customers' jobs count.
* **jobs per scheduled UTC day and status**: the count of rows in ``jobs`` grouped by
  ``(scheduled_at at time zone 'UTC')::date`` and ``status``, summed over tenants.
* **active technicians per UTC day**: the number of distinct ``technician_id`` with at least one
  job having ``status = 'completed'``, grouped by the UTC date of ``completed_at`` (technician
  ids are unique across tenants, so per-tenant counts add up).

All figures are as of the simulated now (whatever the databases hold when called).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from standins.sources.bulkload import connect

REVENUE_SQL = """
select (completed_at at time zone 'UTC')::date as day, region_id, sum(total_amount_cents)::bigint, count(*)
from public.jobs where status = 'completed' group by 1, 2
"""
JOBS_SQL = """
select (scheduled_at at time zone 'UTC')::date as day, status, count(*) from public.jobs group by 1, 2
"""
TECHNICIANS_SQL = """
select (completed_at at time zone 'UTC')::date as day, count(distinct technician_id)
from public.jobs where status = 'completed' group by 1
"""


def ground_truth(jobs_dsns: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The three reconciliation tables, as tidy lists of dicts sorted by their keys.

    Returns:
        ``{"revenue_by_day_region": [{"date", "region_id", "revenue_cents", "completed_jobs"}],
        "jobs_by_scheduled_day_status": [{"date", "status", "jobs"}],
        "active_technicians_by_day": [{"date", "active_technicians"}]}`` with ISO date strings.
    """
    revenue: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    jobs: dict[tuple[str, str], int] = defaultdict(int)
    techs: dict[str, int] = defaultdict(int)
    for dsn in jobs_dsns.values():
        with connect(dsn) as conn:
            for day, region, cents, count in conn.execute(REVENUE_SQL):
                revenue[(day.isoformat(), region)][0] += cents
                revenue[(day.isoformat(), region)][1] += count
            for day, status, count in conn.execute(JOBS_SQL):
                jobs[(day.isoformat(), status)] += count
            for day, count in conn.execute(TECHNICIANS_SQL):
                techs[day.isoformat()] += count
    return {
        "revenue_by_day_region": [
            {"date": d, "region_id": r, "revenue_cents": v[0], "completed_jobs": v[1]}
            for (d, r), v in sorted(revenue.items())
        ],
        "jobs_by_scheduled_day_status": [
            {"date": d, "status": s, "jobs": n} for (d, s), n in sorted(jobs.items())
        ],
        "active_technicians_by_day": [
            {"date": d, "active_technicians": n} for d, n in sorted(techs.items())
        ],
    }


def write_json(truth: dict[str, list[dict[str, Any]]], path: Path) -> Path:
    """Write the ground truth as pretty, stable JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    return path
