"""GPS telematics: one device per technician, a fix every few seconds of every shift.

Every fix is a pure function of (seed, technician, day, fix number), so any hour's delivery
batch can be rebuilt on demand. Devices buffer when out of coverage: about 1 % of fixes are
delivered late (``received_at`` up to three days after ``event_at``) and about 0.5 % are
delivered twice (same ``event_id``, a later ``received_at``). Batches are hourly by
``received_at``: ``telematics/batch_<hour since the start:08d>.parquet``, immutable once
written.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from standins.sources import arrowcols as ac
from standins.sources import catalog
from standins.sources.config import (
    DAY_US,
    GPS_BATCH_MINUTES,
    HOUR_US,
    LATE_MAX_HOURS,
    US,
    start_us,
    volumes,
)
from standins.sources.jobsdb import Technicians, technicians, tenant_facts
from standins.sources.rand import hash64, uniform
from standins.sources.timeline import local_to_utc_us

BATCH_US = GPS_BATCH_MINUTES * 60 * US
LATE_SHARE = 0.01
DUPLICATE_SHARE = 0.005
TECH_CHUNK = 4_000
SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("device_id", pa.string()),
        ("technician_id", pa.int64()),
        ("latitude", pa.float64()),
        ("longitude", pa.float64()),
        ("speed_kph", pa.float64()),
        ("heading_degrees", pa.float64()),
        ("event_at", ac.TS),
        ("received_at", ac.TS),
    ]
)
ON_TIME_US = 62 * US
"""An on-time delivery arrives within (2 + 60 u^3) s of its fix; late ones (an hour or more)
and redeliveries (a minute or more after the first) take longer: :func:`batch` builds the two
kinds apart."""
_TAIL_CACHE: dict[tuple[int, int, int], dict[str, np.ndarray]] = {}
"""Recent days' slow deliveries (late and redelivered, ~1.5 % of a day): consecutive hourly
batches share the days they draw from."""
_CENTERS = {r.region_id: (r.center_lat, r.center_lon) for r in catalog.REGIONS}


@dataclass(frozen=True)
class Fleet:
    """All technicians of the estate (every tenant), and the fix interval that yields the design's volume."""

    techs: Technicians
    interval_s: int


def fleet(seed: int, scale: float, tenants: tuple[str, ...]) -> Fleet:
    """The estate's devices, rebuilt from the seed (technicians never change after generation)."""
    return _fleet(seed, scale, tenants, start_us())


@lru_cache(maxsize=4)
def _fleet(seed: int, scale: float, tenants: tuple[str, ...], origin_us: int) -> Fleet:
    """:func:`fleet` of the estate starting at ``origin_us`` (the current start)."""
    vol = volumes(scale, len(tenants))
    parts = [technicians(seed, tenant_facts(seed, t, tenants), vol)[0] for t in tenants]
    techs = Technicians(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in Technicians.__dataclass_fields__)
    )
    shift_s = float(np.mean(techs.shift_len_min)) * 60
    working_per_day = len(techs.ids) * 5 / 7
    interval = max(2, round(shift_s * working_per_day / (vol.gps_events_per_day * len(tenants))))
    return Fleet(techs, interval)


def batch_path(directory: Path, seq: int) -> Path:
    """Where batch ``seq`` (hours since the start) lives."""
    return directory / f"batch_{seq:08d}.parquet"


def _hex_ids(h1: np.ndarray, h2: np.ndarray) -> pa.Array:
    raw = np.stack([h1, h2], axis=1).astype(">u8").tobytes()
    return pa.array(np.frombuffer(binascii.hexlify(raw), dtype="S32")).cast(pa.string())


def day_deliveries(
    seed: int, fl: Fleet, day: int, rows: slice | np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Every delivery (duplicates included) of the fixes taken on ``day`` by technicians ``rows``.

    ``rows`` is a slice or an array of technician rows (default: the whole fleet).

    Returns arrays keyed ``tech_row, fix, event_at, received_at`` (unsorted); the payload is
    filled in by :func:`to_table` only for the rows that end up in a batch.
    """
    t = fl.techs
    rows_idx = np.arange(len(t.ids))[rows if rows is not None else slice(None)]
    rows_idx = rows_idx[t.works(np.full(len(rows_idx), day), rows_idx)]
    start = local_to_utc_us(
        t.tz[rows_idx], np.full(len(rows_idx), day), t.shift_start_min[rows_idx]
    )
    per = (t.shift_len_min[rows_idx] * 60) // fl.interval_s
    tech_row = np.repeat(rows_idx, per)
    fix = np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per)
    tech_id = t.ids[tech_row]
    key = day * 1_000_000 + fix
    jitter = (uniform(seed, "gps_jitter", tech_id, key) * fl.interval_s * US / 2).astype(np.int64)
    event_at = np.repeat(start, per) + fix * fl.interval_s * US + jitter
    late = uniform(seed, "gps_late", tech_id, key) < LATE_SHARE
    u = uniform(seed, "gps_delay", tech_id, key)
    delay = np.where(
        late,
        HOUR_US + (u * (LATE_MAX_HOURS - 1) * HOUR_US).astype(np.int64),
        ((2 + 60 * u**3) * US).astype(np.int64),
    )
    received = event_at + delay
    dup = np.flatnonzero(uniform(seed, "gps_dup", tech_id, key) < DUPLICATE_SHARE)
    redelay = np.minimum(
        delay[dup] + (60 + uniform(seed, "gps_redelay", tech_id[dup], key[dup]) * 6 * 3600) * US,
        LATE_MAX_HOURS * HOUR_US,
    ).astype(np.int64)
    return {
        "tech_row": np.concatenate([tech_row, tech_row[dup]]),
        "fix": np.concatenate([fix, fix[dup]]),
        "day": np.full(len(tech_row) + len(dup), day, dtype=np.int64),
        "event_at": np.concatenate([event_at, event_at[dup]]),
        "received_at": np.concatenate([received, event_at[dup] + redelay]),
    }


def _take(d: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in d.items()}


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    keys = ("tech_row", "fix", "day", "event_at", "received_at")
    if not parts:
        return {k: np.zeros(0, dtype=np.int64) for k in keys}
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def to_table(seed: int, fl: Fleet, d: dict[str, np.ndarray]) -> pa.Table:
    """Deliveries as GPS event rows (sorted by ``received_at``, then ``event_id``).

    Positions trace a loop of a few kilometres around the technician's home base near the
    region's centre; speed is zero while parked at a job.
    """
    t = fl.techs
    tech_id = t.ids[d["tech_row"]]
    key = d["day"] * 1_000_000 + d["fix"]
    h1 = hash64(seed, "gps_id1", tech_id, key)
    h2 = hash64(seed, "gps_id2", tech_id, key)
    region = t.region_id[d["tech_row"]]
    lat0 = np.array([_CENTERS[r][0] for r in region]) if len(region) else np.zeros(0)
    lon0 = np.array([_CENTERS[r][1] for r in region]) if len(region) else np.zeros(0)
    base_lat = lat0 + (uniform(seed, "home_lat", tech_id) - 0.5) * 0.8
    base_lon = lon0 + (uniform(seed, "home_lon", tech_id) - 0.5) * 0.8
    phase = uniform(seed, "route", tech_id, d["day"]) * 2 * np.pi
    angle = phase + d["fix"] * 2 * np.pi / 900
    radius = 0.03 + 0.05 * uniform(seed, "radius", tech_id, d["day"])
    lat = base_lat + radius * np.sin(angle) + (uniform(seed, "gps_n1", tech_id, key) - 0.5) * 1e-4
    lon = base_lon + radius * np.cos(angle) + (uniform(seed, "gps_n2", tech_id, key) - 0.5) * 1e-4
    heading = np.mod(np.degrees(np.arctan2(-np.sin(angle), np.cos(angle))), 360)
    moving = uniform(seed, "gps_moving", tech_id, key // 30) < 0.45
    speed = np.where(moving, 15 + 95 * uniform(seed, "gps_speed", tech_id, key) ** 1.5, 0.0)
    table = pa.table(
        {
            "event_id": _hex_ids(h1, h2),
            "device_id": ac.join("GPS-", ac.num_str(tech_id, 10)),
            "technician_id": pa.array(tech_id, pa.int64()),
            "latitude": pa.array(np.round(lat, 6)),
            "longitude": pa.array(np.round(lon, 6)),
            "speed_kph": pa.array(np.round(speed, 1)),
            "heading_degrees": pa.array(np.round(heading, 1)),
            "event_at": ac.ts(d["event_at"]),
            "received_at": ac.ts(d["received_at"]),
        },
        schema=SCHEMA,
    )
    return table.sort_by([("received_at", "ascending"), ("event_id", "ascending")])


def _slow_deliveries(seed: int, fl: Fleet, day: int) -> dict[str, np.ndarray]:
    """The deliveries of ``day``'s fixes that took :data:`ON_TIME_US` or longer (cached)."""
    key = (seed, id(fl), day)
    if key not in _TAIL_CACHE:
        while len(_TAIL_CACHE) >= 6:
            _TAIL_CACHE.pop(next(iter(_TAIL_CACHE)))
        parts = []
        for chunk in range(0, len(fl.techs.ids), TECH_CHUNK):
            d = day_deliveries(seed, fl, day, slice(chunk, chunk + TECH_CHUNK))
            parts.append(_take(d, np.flatnonzero(d["received_at"] - d["event_at"] >= ON_TIME_US)))
        _TAIL_CACHE[key] = _concat(parts)
    return _TAIL_CACHE[key]


def _on_shift(fl: Fleet, day: int, start: int, end: int) -> np.ndarray:
    """Rows of the technicians whose fixes on ``day`` can fall in ``[start, end)``."""
    t = fl.techs
    rows = np.arange(len(t.ids))
    rows = rows[t.works(np.full(len(rows), day), rows)]
    first = local_to_utc_us(t.tz[rows], np.full(len(rows), day), t.shift_start_min[rows])
    # the last fix plus its jitter (under half an interval): one more interval is a safe bound
    last = first + (t.shift_len_min[rows] * 60 // fl.interval_s + 1) * fl.interval_s * US
    return rows[(first < end) & (last > start)]


def batch(seed: int, fl: Fleet, seq: int) -> pa.Table:
    """The deliveries received during hour ``seq`` (hours since the start): rebuilt anew.

    Built in two parts whose union is every delivery received in the hour, so that memory
    stays bounded at any scale (a full-scale day is 50 M fixes): on-time deliveries come
    from fixes of the hour itself, drawn only for the technicians on shift then, a chunk of
    technicians at a time; slow ones (late, redelivered) from each recent day's slow
    deliveries, drawn once per day and kept.
    """
    origin = start_us()
    start = origin + seq * BATCH_US
    end = start + BATCH_US
    first_day = (start - LATE_MAX_HOURS * HOUR_US) // DAY_US - origin // DAY_US - 1
    last_day = (end - 1) // DAY_US - origin // DAY_US
    parts = []
    for day in range(first_day, last_day + 1):
        slow = _slow_deliveries(seed, fl, day)
        received = slow["received_at"]
        parts.append(_take(slow, np.flatnonzero((received >= start) & (received < end))))
        on_shift = _on_shift(fl, day, start - ON_TIME_US, end)
        for chunk in range(0, len(on_shift), TECH_CHUNK):
            d = day_deliveries(seed, fl, day, on_shift[chunk : chunk + TECH_CHUNK])
            received = d["received_at"]
            fresh = (received - d["event_at"] < ON_TIME_US) & (received >= start) & (received < end)
            parts.append(_take(d, np.flatnonzero(fresh)))
    return to_table(seed, fl, _concat(parts))


def write_history(
    seed: int, fl: Fleet, directory: Path, first_seq: int, end_seq: int
) -> Iterator[int]:
    """Write batches ``first_seq .. end_seq - 1`` day by day with bounded memory.

    Deliveries received on the day being written go straight to that hour's file (one row
    group per technician chunk); later ones wait in memory for their hour, which is cheap
    because only late and duplicate deliveries wait long.

    Yields:
        The number of events written after each file is closed.
    """
    directory.mkdir(parents=True, exist_ok=True)
    per_day = DAY_US // BATCH_US
    first_day = first_seq // per_day - LATE_MAX_HOURS // 24 - 1
    last_day = (end_seq - 1) // per_day
    pending: dict[int, list[dict[str, np.ndarray]]] = {}
    for day in range(first_day, last_day + 1):
        day_seqs = range(day * per_day, (day + 1) * per_day)
        wanted = [s for s in day_seqs if first_seq <= s < end_seq]
        writers = {s: pq.ParquetWriter(batch_path(directory, s), SCHEMA) for s in wanted}
        counts = dict.fromkeys(wanted, 0)
        try:
            for s in wanted:
                waiting = _concat(pending.pop(s, []))
                if len(waiting["fix"]):
                    writers[s].write_table(to_table(seed, fl, waiting))
                    counts[s] += len(waiting["fix"])
            for chunk in range(0, len(fl.techs.ids), TECH_CHUNK):
                d = day_deliveries(seed, fl, day, slice(chunk, chunk + TECH_CHUNK))
                seq = (d["received_at"] - start_us()) // BATCH_US
                order = np.argsort(seq, kind="stable")
                seq_sorted = seq[order]
                bounds = np.flatnonzero(np.diff(seq_sorted)) + 1
                for group in np.split(order, bounds):
                    if not len(group):
                        continue
                    s = int(seq[group[0]])
                    if s in writers:
                        writers[s].write_table(to_table(seed, fl, _take(d, group)))
                        counts[s] += len(group)
                    elif first_seq <= s < end_seq:
                        pending.setdefault(s, []).append(_take(d, group))
        finally:
            for w in writers.values():
                w.close()
        yield from (counts[s] for s in wanted)
