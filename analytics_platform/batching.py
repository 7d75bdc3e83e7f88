"""When a batch of sync reports is acted on: the quiet/max-hold rule, and its periods.

Two deciders batch the reports of landed syncs so that connectors finishing close together
cause one rebuild of what they share: the webhook receiver, before it reports to Dagster, and
the sync sensor, before it requests a run. Both wait for quiet, both give up waiting after a
maximum hold, and both use :func:`batch_due`. The periods live here so that the receiver, the
sensor and anything replaying them read the same values.
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
run: the sync sensor's own quiet (:data:`SYNC_QUIET_S`) batches releases that land close
together."""
RECEIVER_MAX_HOLD_S = 120.0
"""...or once its oldest pending report is this old, and a sync that started this long ago
without ending (a crashed one, say) no longer holds the release."""
SYNC_QUIET_S = 0.5
"""The sync sensor acts on a batch of reports once its newest is this old.

The receiver posts a release's reports one after another in quick succession, and the polling
sensor records a tick's reports at once: this much quiet keeps one release in one run."""
SYNC_MAX_HOLD_S = 60.0
"""...or once its oldest report is this old, however busy the connectors are."""


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
