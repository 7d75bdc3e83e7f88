"""ServiceTitan in a step: mirrored jobs follow their FieldForce job."""

from __future__ import annotations

import numpy as np
import psycopg

from standins.sources import servicetitan
from standins.sources.changes.common import S, next_id, sql_us, ts
from standins.sources.config import HOUR_US, MINUTE_US
from standins.sources.state import EstateState


def mirror_jobs(
    conn: psycopg.Connection,
    saas: psycopg.Connection,
    state: EstateState,
    tenant: str,
    job_ids: list[int],
    t0: int,
    t1: int,
) -> None:
    """Create or update the mirrors of changed jobs: job, appointment, timesheets."""
    rows = conn.execute(
        f"select j.job_id, j.customer_id, j.technician_id, j.status, s.category, {sql_us('j.created_at')},"
        f" {sql_us('j.scheduled_at')}, s.estimated_duration_minutes, coalesce({sql_us('j.started_at')}, -1),"
        f" coalesce({sql_us('j.completed_at')}, -1), {sql_us('j.updated_at')}"
        " from public.jobs j join public.service_types s on s.service_type_id = j.service_type_id"
        " where j.job_id = any(%s) order by j.job_id",
        (job_ids,),
    ).fetchall()
    for ff, cust, tech, status, category, created, sched, est, started, completed, updated in rows:
        lag = int(servicetitan.sync_lag(state.seed, np.array([ff]))[0])
        at = ts(min(max(updated + lag, t0), t1 - 1))
        s = S[status]
        existing = saas.execute(
            "select id from servicetitan.jobs where fieldforce_job_id = %s", (ff,)
        ).fetchone()
        if existing is None:
            st_id = next_id(
                state, "servicetitan.jobs", saas, "select max(id) from servicetitan.jobs", 1
            )
            saas.execute(
                "insert into servicetitan.jobs values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    st_id,
                    f"ST-{st_id:08d}",
                    ff,
                    cust,
                    tenant,
                    category,
                    servicetitan.JOB_STATUS[s],
                    ts(min(max(created + lag, t0), t1 - 1)),
                    ts(completed) if completed >= 0 else None,
                    at,
                ),
            )
            saas.execute(
                "insert into servicetitan.appointments values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    st_id,
                    st_id,
                    tech,
                    f"ST-{st_id:08d}-1",
                    ts(sched),
                    ts(sched + est * MINUTE_US),
                    ts(sched - HOUR_US),
                    ts(sched + HOUR_US),
                    servicetitan.APPOINTMENT_STATUS[s],
                    at,
                ),
            )
        else:
            st_id = existing[0]
            saas.execute(
                "update servicetitan.jobs set job_status = %s, completed_on = %s, modified_on = %s where id = %s",
                (servicetitan.JOB_STATUS[s], ts(completed) if completed >= 0 else None, at, st_id),
            )
            saas.execute(
                "update servicetitan.appointments set status = %s, start_at = %s, end_at = %s, modified_on = %s where job_id = %s",
                (
                    servicetitan.APPOINTMENT_STATUS[s],
                    ts(sched),
                    ts(sched + est * MINUTE_US),
                    at,
                    st_id,
                ),
            )
        if started >= 0:
            sheets_now = {
                a: r
                for a, r in saas.execute(
                    "select activity, id from servicetitan.timesheets where job_id = %s", (st_id,)
                )
            }
            drive = int(servicetitan.drive_minutes(state.seed, np.array([ff]))[0]) * MINUTE_US
            if "Driving" not in sheets_now:
                first = next_id(
                    state,
                    "servicetitan.timesheets",
                    saas,
                    "select max(id) from servicetitan.timesheets",
                    2,
                )
                saas.execute(
                    "insert into servicetitan.timesheets values (%s, %s, %s, %s, 'Driving', %s, %s, %s),"
                    " (%s, %s, %s, %s, 'Working', %s, %s, %s)",
                    (
                        first,
                        tech,
                        st_id,
                        st_id,
                        ts(started - drive),
                        ts(started),
                        at,
                        first + 1,
                        tech,
                        st_id,
                        st_id,
                        ts(started),
                        ts(completed) if completed >= 0 else None,
                        at,
                    ),
                )
            elif completed >= 0:
                saas.execute(
                    "update servicetitan.timesheets set clock_out = %s, modified_on = %s where id = %s and clock_out is null",
                    (ts(completed), at, sheets_now["Working"]),
                )


def cancel_job(saas: psycopg.Connection, job_id: int, at: int) -> None:
    """Cancel the mirror of a deleted FieldForce job (a no-op for jobs never mirrored)."""
    saas.execute(
        "update servicetitan.jobs set job_status = 'Canceled', modified_on = %s where fieldforce_job_id = %s",
        (ts(at), job_id),
    )
