"""When the webhook receiver releases a batch of sync reports: the quiet/max-hold rule.

The receiver holds the reports of syncs that run side by side until the last of them ends, so
connectors finishing together reach Dagster as one release, and gives up waiting after a
maximum hold. What a release causes is the planner's decision
(:mod:`analytics_platform.automation.planner_sensor`): it reads landed syncs at each tick, so
releases that land within one tick are planned together. The periods live here so that the
receiver and anything replaying it read the same values.
"""

from __future__ import annotations

from collections.abc import Iterable

RECEIVER_QUIET_S = 0.0
"""The receiver releases its reports this long after the newest sync event, once no sync is in
flight: at once.

Syncs that Fivetran runs side by side already end into one release without a quiet period: each
one's ``sync_start`` holds the release until its ``sync_end`` (and its changes are measured), so
the release waits for the last of them. With no other sync in flight there is nothing to wait
for, and a quiet period would only delay the run (it was 3 s, most of the receiver's share of a
sync's latency). Reports of syncs that end together without having overlapped still share one
run: the planner reads every sync landed since its last tick at once."""
RECEIVER_MAX_HOLD_S = 120.0
"""...or once its oldest pending report is this old, and a sync that started this long ago
without ending (a crashed one, say) no longer holds the release."""


def batch_due(
    oldest: float | None,
    newest: float,
    now: float,
    quiet_s: float,
    max_hold_s: float,
    in_flight_since: Iterable[float] = (),
) -> bool:
    """Whether a pending batch is acted on now.

    A batch is due once ``quiet_s`` has passed since the newest activity and no sync is in
    flight, or, however busy things are, once its oldest item has waited ``max_hold_s``. A sync
    in flight for ``max_hold_s`` or longer holds nothing: its end may never come, and waiting
    for it would cost freshness.

    Args:
        oldest: when the batch's oldest item arrived; None when nothing is pending.
        newest: when the newest activity happened (an item, or a sync starting).
        now: the current time, on the same clock.
        quiet_s: how long the batch waits for quiet.
        max_hold_s: the longest any item waits.
        in_flight_since: when each sync that is still running started.

    Returns:
        True when the batch should be acted on now.
    """
    if oldest is None:
        return False
    if now - oldest >= max_hold_s:
        return True
    in_flight = any(now - started < max_hold_s for started in in_flight_since)
    return now - newest >= quiet_s and not in_flight


def batch_due_at(oldest: float, newest: float, quiet_s: float, max_hold_s: float) -> float:
    """The earliest time :func:`batch_due` holds for a batch with no sync in flight.

    For replays that compute when a decider acts instead of polling it.

    Args:
        oldest: when the batch's oldest item arrived.
        newest: when the newest activity happened.
        quiet_s: how long the batch waits for quiet.
        max_hold_s: the longest any item waits.

    Returns:
        The time, on the clock of ``oldest`` and ``newest``.
    """
    return min(newest + quiet_s, oldest + max_hold_s)
