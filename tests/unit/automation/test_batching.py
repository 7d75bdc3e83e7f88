"""The quiet/max-hold rule of the webhook receiver's releases."""

import pytest

from analytics_platform.batching import (
    RECEIVER_MAX_HOLD_S,
    RECEIVER_QUIET_S,
    batch_due,
    batch_due_at,
)


def test_nothing_pending_is_never_due() -> None:
    assert not batch_due(None, 0.0, 1e9, quiet_s=0.0, max_hold_s=0.0)


def test_due_after_quiet_or_after_the_longest_hold() -> None:
    now = 1000.0
    assert not batch_due(now - 1.0, now - 1.0, now, quiet_s=1.5, max_hold_s=60)
    assert batch_due(now - 2.0, now - 2.0, now, quiet_s=1.5, max_hold_s=60)
    # Busy: a new item keeps arriving, until the oldest has waited max_hold_s.
    assert not batch_due(now - 30, now - 0.5, now, quiet_s=1.5, max_hold_s=60)
    assert batch_due(now - 61, now - 0.5, now, quiet_s=1.5, max_hold_s=60)


def test_a_sync_in_flight_holds_until_it_ends_or_the_longest_hold() -> None:
    now = 1000.0
    quiet = {"quiet_s": 3.0, "max_hold_s": 120.0}
    assert not batch_due(now - 10, now - 10, now, in_flight_since=[now - 20], **quiet)
    # A sync that started max_hold_s ago and never ended holds nothing.
    assert batch_due(now - 10, now - 10, now, in_flight_since=[now - 120], **quiet)
    assert batch_due(now - 120, now - 1, now, in_flight_since=[now - 5], **quiet)


@pytest.mark.parametrize(
    ("oldest", "newest"), [(0.0, 0.0), (0.0, 2.0), (0.0, 59.9), (0.0, 200.0), (10.0, 10.0)]
)
def test_due_at_is_the_first_moment_the_batch_is_due(oldest: float, newest: float) -> None:
    at = batch_due_at(oldest, newest, quiet_s=3.0, max_hold_s=60.0)
    assert batch_due(oldest, newest, at, quiet_s=3.0, max_hold_s=60.0)
    assert not batch_due(oldest, newest, at - 1e-6, quiet_s=3.0, max_hold_s=60.0)


def test_the_receiver_waits_for_no_quiet() -> None:
    # The receiver's batching is its in-flight hold; releases landing together share a tick
    # of the planner, hence one run.
    assert RECEIVER_QUIET_S == 0.0


def test_with_no_quiet_a_batch_is_due_at_once_unless_a_sync_is_in_flight() -> None:
    now = 1000.0
    rule = {"quiet_s": RECEIVER_QUIET_S, "max_hold_s": RECEIVER_MAX_HOLD_S}
    assert batch_due(now, now, now, **rule)
    assert batch_due(now, now, now, in_flight_since=[now - RECEIVER_MAX_HOLD_S], **rule)
    assert not batch_due(now, now, now, in_flight_since=[now - 1.0], **rule)
