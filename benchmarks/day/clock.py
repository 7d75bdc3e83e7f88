"""The simulated clock of the day: ticks, which connectors are due, and the strategies' waits.

Tick ``k`` is at ``k x TICK_MIN`` simulated minutes. Everything here is pure arithmetic on
simulated seconds, so the unit tests pin the schedule down without running anything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from analytics_platform.batching import RECEIVER_QUIET_S

TICK_MIN = 15
"""The finest cadence of the design (the Jobs DB); every other cadence is a multiple of it."""
QUIET_S = RECEIVER_QUIET_S
"""The webhook receiver's quiet period."""
SENSOR_INTERVAL_S = 5.0
"""How often a sensor can tick under the daemon: its loop runs at most every 5 s (Dagster's
``MIN_INTERVAL_LOOP_TIME``), so the first wave's sync sensor (1 s minimum interval) ticked every 5 s."""
SOURCE_PLUS_DEBOUNCE_S = QUIET_S
"""Strategy ``source_plus`` waits as long as the platform's receiver does, so the two differ in
what they select, not in how patient they are."""


def due_connectors(frequencies: Mapping[str, int], minute: int) -> list[str]:
    """Connectors whose cadence (minutes) divides the simulated minute, in the given order."""
    return [cid for cid, every in frequencies.items() if every > 0 and minute % every == 0]


def debounce(ends: Sequence[float], quiet_s: float) -> list[list[int]]:
    """Trailing debounce: indices of events grouped while each follows the last within quiet_s.

    Each group fires ``quiet_s`` after its last event. ``ends`` must be in time order.
    """
    groups: list[list[int]] = []
    for index, end in enumerate(ends):
        if groups and end - ends[groups[-1][-1]] <= quiet_s:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def next_tick(t: float, interval: float) -> float:
    """The first sensor tick at or after ``t`` (ticks at multiples of ``interval``)."""
    return math.ceil(round(t / interval, 9)) * interval


def released_at(ends: Sequence[float]) -> float | None:
    """When the webhook receiver releases a tick's reports: ``QUIET_S`` after the last sync.

    The receiver holds reports while a sync is in flight and the service runs a tick's syncs
    back to back, so a tick's syncs reach the platform together.
    """
    return max(ends) + QUIET_S if ends else None


def clock_label(seconds: float) -> str:
    """``HH:MM`` of a simulated time, for progress lines."""
    minutes = int(seconds // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
