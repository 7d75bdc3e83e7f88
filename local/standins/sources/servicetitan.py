"""ServiceTitan: the field-service app some crews use, mirroring a share of FieldForce jobs.

A job is mirrored when a hash of its id says so (:func:`mirrored`), so the change stream knows
without any lookup table which new jobs appear in ServiceTitan. Each mirrored job has one
appointment (the booked slot and arrival window) and, once work starts, timesheets for the
drive and the work itself. ``jobs.customer_id`` and ``appointments.technician_id`` carry the
FieldForce ids, ``jobs.fieldforce_job_id`` the FieldForce job.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from standins.sources import arrowcols as ac
from standins.sources.config import MINUTE_US, SERVICETITAN_SHARE
from standins.sources.jobsdb import CATEGORIES, Jobs, ServiceTypes, Tenant
from standins.sources.rand import uniform

JOB_STATUS = ("Scheduled", "Dispatched", "InProgress", "Completed", "Canceled", "Hold")
"""ServiceTitan job status per FieldForce status (same order as catalog.JOB_STATUSES)."""
APPOINTMENT_STATUS = ("Scheduled", "Dispatched", "Working", "Done", "Canceled", "Scheduled")
ACTIVITIES = ("Driving", "Working")


def mirrored(seed: int, job_id: np.ndarray) -> np.ndarray:
    """Whether each FieldForce job also lives in ServiceTitan."""
    return uniform(seed, "servicetitan", job_id) < SERVICETITAN_SHARE


def sync_lag(seed: int, job_id: np.ndarray) -> np.ndarray:
    """ServiceTitan records a change 1-10 minutes after FieldForce does."""
    return ((1 + 9 * uniform(seed, "st_lag", job_id)) * MINUTE_US).astype(np.int64)


def drive_minutes(seed: int, job_id: np.ndarray) -> np.ndarray:
    """Minutes driven to the job (clocked as a Driving timesheet)."""
    return (10 + 30 * uniform(seed, "st_drive", job_id)).astype(np.int64)


def servicetitan(
    seed: int, parts: list[tuple[Tenant, Jobs, ServiceTypes]], now_us: int
) -> dict[str, pa.Table]:
    """ServiceTitan jobs, appointments and timesheets for the mirrored jobs of all tenants."""
    cols: dict[str, list[np.ndarray]] = {
        k: []
        for k in (
            "ff",
            "cust",
            "tech",
            "status",
            "cat",
            "created",
            "sched",
            "est",
            "started",
            "completed",
            "updated",
            "bu",
        )
    }
    for tenant, job, services in parts:
        m = np.flatnonzero(mirrored(seed, job.ids))
        cols["ff"].append(job.ids[m])
        cols["cust"].append(job.customer_id[m])
        cols["tech"].append(job.technician_id[m])
        cols["status"].append(job.status[m])
        cols["cat"].append(services.category[job.service_row[m]])
        cols["created"].append(job.created[m])
        cols["sched"].append(job.scheduled[m])
        cols["est"].append(services.duration_min[job.service_row[m]])
        cols["started"].append(job.started[m])
        cols["completed"].append(job.completed[m])
        cols["updated"].append(job.updated[m])
        cols["bu"].append(np.full(len(m), tenant.name, dtype=object))
    c = {k: np.concatenate(v) if v else np.zeros(0) for k, v in cols.items()}
    lag = sync_lag(seed, c["ff"])
    created_on = np.minimum(c["created"] + lag, now_us)
    order = np.lexsort((c["ff"], created_on))
    c = {k: v[order] for k, v in c.items()}
    lag, created_on = lag[order], created_on[order]
    n = len(order)
    st_id = 1 + np.arange(n)
    modified = np.maximum(np.minimum(c["updated"] + lag, now_us), created_on)
    done = c["completed"] >= 0
    jobs = pa.table(
        {
            "id": pa.array(st_id, pa.int64()),
            "job_number": ac.join("ST-", ac.num_str(st_id, 8)),
            "fieldforce_job_id": pa.array(c["ff"], pa.int64()),
            "customer_id": pa.array(c["cust"], pa.int64()),
            "business_unit": pa.array(c["bu"].astype(str)),
            "job_type": ac.pick(CATEGORIES, c["cat"]),
            "job_status": ac.pick(JOB_STATUS, c["status"]),
            "created_on": ac.ts(created_on),
            "completed_on": ac.ts(c["completed"], done),
            "modified_on": ac.ts(modified),
        }
    )
    appointments = pa.table(
        {
            "id": pa.array(st_id, pa.int64()),
            "job_id": pa.array(st_id, pa.int64()),
            "technician_id": pa.array(c["tech"], pa.int64()),
            "appointment_number": ac.join("ST-", ac.num_str(st_id, 8), "-1"),
            "start_at": ac.ts(c["sched"]),
            "end_at": ac.ts(c["sched"] + c["est"].astype(np.int64) * MINUTE_US),
            "arrival_window_start": ac.ts(c["sched"] - 60 * MINUTE_US),
            "arrival_window_end": ac.ts(c["sched"] + 60 * MINUTE_US),
            "status": ac.pick(APPOINTMENT_STATUS, c["status"]),
            "modified_on": ac.ts(modified),
        }
    )
    started = np.flatnonzero(c["started"] >= 0)
    drive = drive_minutes(seed, c["ff"][started]) * MINUTE_US
    k = len(started)
    # two timesheets per started job: the drive, then the work (open while in progress)
    owner = np.repeat(started, 2)
    activity = np.tile([0, 1], k)
    clock_in = np.where(
        activity == 0, np.repeat(c["started"][started] - drive, 2), c["started"][owner]
    )
    clock_out = np.where(activity == 0, c["started"][owner], c["completed"][owner])
    has_out = clock_out >= 0
    ts_mod = np.minimum(np.maximum(clock_in, clock_out) + lag[owner], now_us)
    timesheets = pa.table(
        {
            "id": pa.array(1 + np.arange(2 * k), pa.int64()),
            "technician_id": pa.array(c["tech"][owner], pa.int64()),
            "job_id": pa.array(st_id[owner], pa.int64()),
            "appointment_id": pa.array(st_id[owner], pa.int64()),
            "activity": ac.pick(ACTIVITIES, activity),
            "clock_in": ac.ts(clock_in),
            "clock_out": ac.ts(clock_out, has_out),
            "modified_on": ac.ts(ts_mod),
        }
    )
    return {"jobs": jobs, "appointments": appointments, "timesheets": timesheets}
