"""The estate's knobs: simulated time, scale-to-volume rules, tenants and their regions.

Everything here is a pure function of (seed, scale, tenants, start) so that any process can
rebuild the same picture of the estate from ``estate.json`` alone.

Simulated time is measured from the estate's *start*, a UTC midnight chosen when the estate is
generated (:func:`start_for`) so that its history ends at that moment's real now, and stored in
``estate.json``. Every draw of the generator and of the change stream is keyed by the seed and
by time *relative to the start*: one seed gives the same data, shifted in time, whenever it is
generated (whole days apart; the weekday and daylight saving of the real calendar come with
the start). The generator's functions read the start of the estate they work on from a context
(:func:`estate_start`) that :class:`~standins.sources.estate.Estate` sets, rather than each
carrying it as an argument.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from standins.sources import catalog
from standins.sources.errors import EstateError

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
"""The reference start: of an estate whose ``estate.json`` records no start, and of generator
calls made outside any estate (unit tests of the generator's parts)."""

DEFAULT_HISTORY_DAYS = 90
DEFAULT_SCALE = 0.001
"""About 10 k jobs: big enough to look real, small enough for tests and the demo."""

DEFAULT_SEED = 42
STEP_MINUTES = 5
"""The change stream applies changes on a fixed 5-minute grid, so any split of ``advance``
calls yields the same data."""

DEFAULT_SPEED = 1.0
"""The demo's default pace (simulated seconds per real second): real time. The simulated clock
then stays on the real calendar that the facts' daily partitions follow (at ``speed`` x it runs
ahead of it by ``speed - 1`` times the uptime), and the connectors keep their own cadence (the
Jobs DBs every 15 minutes), so a sync's run is done long before the next sync lands.
``--speed`` compresses it."""

BOOKING_HORIZON_DAYS = 14
"""Jobs are booked up to two weeks ahead, so the Jobs DB always holds future work."""

GPS_HISTORY_DAYS = 2
"""The initial GPS history (hourly batches) covers only the last days: at 50 M events per day
(scale 1) a full 90-day history would dwarf every other system."""

GPS_BATCH_MINUTES = 60
LATE_MAX_HOURS = 72
"""Late rows (GPS events, Jobs DB rows) carry event times up to three days old."""

# The design's volumes: what the estate holds at scale 1.0.
FULL_SCALE_JOBS = 10_000_000
FULL_SCALE_SERVICETITAN_RECORDS = 2_000_000
FULL_SCALE_GPS_EVENTS_PER_DAY = 50_000_000

JOBS_PER_TECH_DAY = 3.2
WORKDAYS_PER_WEEK = 5
CUSTOMERS_PER_JOB = 1 / 6
SERVICETITAN_SHARE = 0.05
"""Share of jobs mirrored in ServiceTitan: with one appointment and ~1.9 timesheets each, 5 %
of the full-scale jobs gives the design's ServiceTitan record count."""

ALL_TENANTS: tuple[str, ...] = catalog.DEFAULT_TENANTS + catalog.EXTRA_TENANT_NAMES

US = 1_000_000
"""Microseconds per second: all generator timestamps are int64 microseconds since 1970 UTC."""
MINUTE_US = 60 * US
HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US


def to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch for an aware datetime."""
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def from_us(micros: int) -> datetime:
    """The aware UTC datetime for microseconds since the Unix epoch."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(micros))


EPOCH_US = to_us(EPOCH)

_START_US: ContextVar[int] = ContextVar("estate_start_us", default=EPOCH_US)


def start_us() -> int:
    """The start (microseconds since 1970, UTC) of the estate being generated or advanced."""
    return _START_US.get()


def start() -> datetime:
    """:func:`start_us` as an aware UTC datetime."""
    return from_us(start_us())


def start_weekday() -> int:
    """The weekday of the start (Monday = 0), so that weekends fall on real weekends."""
    return start().weekday()


@contextlib.contextmanager
def estate_start(micros: int) -> Iterator[None]:
    """Run the block (this thread, this context) for an estate that starts at ``micros``."""
    if micros % DAY_US:
        raise EstateError(f"an estate starts at a UTC midnight, not at {from_us(micros)}")
    token = _START_US.set(micros)
    try:
        yield
    finally:
        _START_US.reset(token)


def grid_floor_us(moment: datetime) -> int:
    """``moment`` rounded down to the change stream's grid (:data:`STEP_MINUTES`)."""
    step = STEP_MINUTES * MINUTE_US
    return to_us(moment) // step * step


def start_for(now: datetime, history_days: int) -> int:
    """The start of an estate generated at ``now`` with ``history_days`` of history.

    The UTC midnight ``history_days`` before ``now``'s day: the history is generated up to
    ``now``'s midnight and the change stream then runs it on to ``now`` (on its grid), so the
    estate's clock ends at the real now and local working hours stay where they belong.
    """
    return to_us(now) // DAY_US * DAY_US - history_days * DAY_US


def validate_scale(scale: object) -> float:
    """Check a scale factor: a number in (0, 1]; 1.0 means the design's full volumes.

    Raises:
        EstateError: not a number, or out of range.
    """
    if isinstance(scale, bool) or not isinstance(scale, int | float | str):
        raise EstateError(f"scale {scale!r} is not a number: use a value in (0, 1], e.g. 0.001")
    try:
        value = float(scale)
    except ValueError:
        raise EstateError(
            f"scale {scale!r} is not a number: use a value in (0, 1], e.g. 0.001"
        ) from None
    if not math.isfinite(value) or value <= 0 or value > 1:
        raise EstateError(
            f"scale {scale!r} is out of range: use a value in (0, 1] (1.0 = the design's volumes)"
        )
    return value


def validate_seed(seed: object) -> int:
    """Check a seed: a non-negative integer.

    Raises:
        EstateError: not an integer, or negative.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        try:
            as_int = int(str(seed))
        except ValueError:
            raise EstateError(
                f"seed {seed!r} is not an integer: use a non-negative integer such as 42"
            ) from None
        seed = as_int
    if seed < 0:
        raise EstateError(f"seed {seed} is negative: use a non-negative integer such as 42")
    return int(seed)


def resolve_tenants(tenants: Sequence[str] | int) -> tuple[str, ...]:
    """Tenant names from a count (first N of the canonical list) or explicit names.

    Raises:
        EstateError: an unknown name, a duplicate, or a count outside 1..8.
    """
    if isinstance(tenants, int) and not isinstance(tenants, bool):
        if not 1 <= tenants <= len(ALL_TENANTS):
            raise EstateError(
                f"tenants={tenants} is out of range: choose 1..{len(ALL_TENANTS)} tenants"
            )
        return ALL_TENANTS[:tenants]
    names = tuple(tenants)
    unknown = [t for t in names if t not in ALL_TENANTS]
    if unknown or not names or len(set(names)) != len(names):
        raise EstateError(
            f"tenants {list(names)} are invalid: choose distinct names from {list(ALL_TENANTS)}"
        )
    return tuple(sorted(names, key=ALL_TENANTS.index))


def tenant_index(tenant: str) -> int:
    """The 1-based id-range index of a tenant (ids ``index * ID_OFFSET + 1 ...``)."""
    return ALL_TENANTS.index(tenant) + 1


def tenant_regions(tenant: str, tenants: Sequence[str]) -> tuple[catalog.Region, ...]:
    """The fixed regions a tenant serves: regions are dealt round-robin over the tenants.

    With the default two tenants ``bu_north`` gets Northeast, Midwest, Mountain and the Pacific
    Northwest, ``bu_south`` the other four.
    """
    position = list(tenants).index(tenant)
    return tuple(
        r
        for i, r in enumerate(catalog.REGIONS)
        if i % len(tenants) == position % len(catalog.REGIONS)
    )


REGION_WEIGHTS = {1: 1.4, 2: 1.3, 3: 1.1, 4: 1.2, 5: 0.7, 6: 0.8, 7: 0.7, 8: 1.5}
"""Relative demand per region (population-like), used for customers and technicians."""


@dataclass(frozen=True)
class Volumes:
    """Row-count targets for one tenant at a given scale (the design's full volumes times scale)."""

    jobs: int
    technicians: int
    customers: int
    gps_events_per_day: int

    @property
    def jobs_per_day(self) -> float:
        """Average jobs per day the tenant books (also the change stream's booking rate)."""
        return self.jobs / DEFAULT_HISTORY_DAYS


def volumes(scale: float, n_tenants: int) -> Volumes:
    """Per-tenant targets; technicians follow from jobs per working day, customers from jobs."""
    jobs = max(200, round(FULL_SCALE_JOBS * scale / n_tenants))
    jobs_per_day = jobs / DEFAULT_HISTORY_DAYS
    technicians = max(8, round(jobs_per_day / (JOBS_PER_TECH_DAY * 0.93 * WORKDAYS_PER_WEEK / 7)))
    customers = max(50, round(jobs * CUSTOMERS_PER_JOB))
    gps = max(1000, round(FULL_SCALE_GPS_EVENTS_PER_DAY * scale / n_tenants))
    return Volumes(jobs=jobs, technicians=technicians, customers=customers, gps_events_per_day=gps)
