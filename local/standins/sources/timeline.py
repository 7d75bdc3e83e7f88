"""When things happen to a job: pure functions of (seed, job id, schedule).

The history generator and the change stream share them, so both tell the same story about
every job.
"""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo

import numpy as np

from standins.sources import catalog
from standins.sources.config import DAY_US, MINUTE_US, from_us, start_us
from standins.sources.rand import normal, uniform

CANCEL_SHARE = 0.065
RESCHEDULE_SHARE = 0.035
TIME_ZONES: tuple[str, ...] = tuple(sorted({r.time_zone for r in catalog.REGIONS}))
_TZ_SPAN_DAYS = 2 * 366 + 90
_TZ_FIRST_DAY = -366


@cache
def _offset_table(origin_us: int) -> np.ndarray:
    """UTC offsets in minutes at local noon, per (time zone, day since the start - 366)."""
    from datetime import timedelta

    origin = from_us(origin_us)
    table = np.zeros((len(TIME_ZONES), _TZ_SPAN_DAYS), dtype=np.int64)
    for z, name in enumerate(TIME_ZONES):
        zone = ZoneInfo(name)
        for d in range(_TZ_SPAN_DAYS):
            noon = origin + timedelta(days=d + _TZ_FIRST_DAY, hours=17)
            offset = noon.astimezone(zone).utcoffset()
            table[z, d] = int(offset.total_seconds() // 60) if offset is not None else 0
    return table


def tz_index(names: np.ndarray | list[str]) -> np.ndarray:
    """Indices into :data:`TIME_ZONES` for time-zone names."""
    lookup = {n: i for i, n in enumerate(TIME_ZONES)}
    return np.array([lookup[n] for n in names], dtype=np.int64)


def utc_offset_minutes(tz_idx: np.ndarray, day: np.ndarray) -> np.ndarray:
    """UTC offset (minutes, negative in the US) of each zone on each day since the start.

    Taken at local midday, which is right for anything scheduled in working hours: the DST
    switches happen at 2 a.m.
    """
    col = np.clip(np.asarray(day, dtype=np.int64) - _TZ_FIRST_DAY, 0, _TZ_SPAN_DAYS - 1)
    return _offset_table(start_us())[np.asarray(tz_idx, dtype=np.int64), col]


def local_to_utc_us(tz_idx: np.ndarray, day: np.ndarray, local_minutes: np.ndarray) -> np.ndarray:
    """UTC microseconds of a local wall-clock time ``local_minutes`` on ``day`` since the start."""
    day = np.asarray(day, dtype=np.int64)
    utc_min = np.asarray(local_minutes, dtype=np.int64) - utc_offset_minutes(tz_idx, day)
    return start_us() + day * DAY_US + utc_min * MINUTE_US


def plan(
    seed: int, job_id: np.ndarray, scheduled_us: np.ndarray, est_minutes: np.ndarray
) -> dict[str, np.ndarray]:
    """The planned dispatch, start and completion of jobs (UTC microseconds).

    Dispatch comes 30-120 min before the slot, arrival is -15..+60 min around it (mostly a
    little late), and the work takes the service's estimate times a log-normal factor.
    """
    job_id = np.asarray(job_id, dtype=np.int64)
    dispatch = (
        scheduled_us
        - (30 + np.floor(uniform(seed, "dispatch", job_id) * 90)).astype(np.int64) * MINUTE_US
    )
    late = np.floor(-15 + 75 * uniform(seed, "arrive", job_id) ** 2).astype(np.int64)
    started = scheduled_us + late * MINUTE_US
    factor = np.exp(0.25 * np.clip(normal(seed, "duration", job_id), -3, 3))
    work = np.maximum(15, np.round(np.asarray(est_minutes) * factor)).astype(np.int64)
    completed = started + work * MINUTE_US + (uniform(seed, "secs", job_id) * 60e6).astype(np.int64)
    return {"dispatch": dispatch, "started": started, "completed": completed}


def fate(
    seed: int, job_id: np.ndarray, created_us: np.ndarray, dispatch_us: np.ndarray
) -> dict[str, np.ndarray]:
    """Whether (and when) a job gets cancelled or rescheduled, decided once per job id.

    Both happen between booking and dispatch, so a cancelled job was never started.
    """
    job_id = np.asarray(job_id, dtype=np.int64)
    u = uniform(seed, "fate", job_id)
    window = np.maximum(dispatch_us - created_us, MINUTE_US)
    at = created_us + (uniform(seed, "fate_at", job_id) * window).astype(np.int64)
    return {
        "cancel": u < CANCEL_SHARE,
        "reschedule": (u >= CANCEL_SHARE) & (u < CANCEL_SHARE + RESCHEDULE_SHARE),
        "at": at,
        "shift_days": 1 + np.floor(uniform(seed, "resched_days", job_id) * 7).astype(np.int64),
    }
