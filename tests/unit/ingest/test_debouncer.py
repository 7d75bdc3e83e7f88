"""The webhook receiver's debouncer: one burst per group of close syncs, nothing ever lost."""

import dagster as dg

from analytics_platform.batching import RECEIVER_QUIET_S
from analytics_platform.ingest.webhook import Debouncer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _event(name: str) -> dg.AssetMaterialization:
    return dg.AssetMaterialization(asset_key=dg.AssetKey(["fivetran", "s", name]))


def _names(events: list[dg.AssetMaterialization | dg.AssetObservation]) -> list[str]:
    return [event.asset_key.path[-1] for event in events]


def test_holds_while_another_sync_is_in_flight_then_releases_together() -> None:
    clock, sent = Clock(), []
    debouncer = Debouncer(sent.append, quiet_s=3, max_hold_s=120, clock=clock)
    debouncer.sync_started("a")
    debouncer.sync_started("b")
    debouncer.add("a", [_event("jobs_a")])
    clock.now += 10
    assert debouncer.release() == []  # b is still syncing
    debouncer.add("b", [_event("jobs_b")])
    clock.now += 1
    assert debouncer.release() == []  # not quiet yet
    clock.now += 3
    assert _names(debouncer.release()) == ["jobs_a", "jobs_b"]
    assert _names(sent) == ["jobs_a", "jobs_b"]
    assert debouncer.release() == []


def test_a_sync_that_never_ends_does_not_hold_reports_forever() -> None:
    clock, sent = Clock(), []
    debouncer = Debouncer(sent.append, quiet_s=3, max_hold_s=60, clock=clock)
    debouncer.sync_started("crashed")
    debouncer.add("a", [_event("jobs")])
    clock.now += 59
    assert debouncer.release() == []
    clock.now += 2
    assert _names(debouncer.release()) == ["jobs"]


def test_failed_deliveries_are_kept_and_retried_in_order() -> None:
    clock, sent = Clock(), []
    down = {"jobs_b"}

    def reporter(event: dg.AssetMaterialization | dg.AssetObservation) -> None:
        if event.asset_key.path[-1] in down:
            raise ConnectionError("dagster webserver is down")
        sent.append(event)

    debouncer = Debouncer(reporter, quiet_s=1, clock=clock)
    debouncer.add("a", [_event("jobs_a"), _event("jobs_b"), _event("jobs_c")])
    clock.now += 2
    assert _names(debouncer.release()) == ["jobs_a"]
    down.clear()
    clock.now += 2
    assert _names(debouncer.release()) == ["jobs_b", "jobs_c"]
    assert _names(sent) == ["jobs_a", "jobs_b", "jobs_c"]


def test_nothing_pending_is_never_due() -> None:
    clock = Clock()
    debouncer = Debouncer(lambda _: None, quiet_s=0, clock=clock)
    debouncer.add("a", [])
    clock.now += 100
    assert not debouncer.due()


def test_a_sync_with_no_other_in_flight_is_released_at_once() -> None:
    clock, sent = Clock(), []
    debouncer = Debouncer(sent.append, clock=clock)
    debouncer.sync_started("a")
    clock.now += 30
    debouncer.add("a", [_event("jobs_a")])
    assert _names(debouncer.release()) == ["jobs_a"]  # no quiet period, not a moment later
    assert _names(sent) == ["jobs_a"]


def test_syncs_side_by_side_are_released_together_when_the_last_ends() -> None:
    clock, sent = Clock(), []
    debouncer = Debouncer(sent.append, clock=clock)
    debouncer.sync_started("a")
    debouncer.sync_started("b")
    debouncer.add("a", [_event("jobs_a")])
    assert debouncer.release() == []  # b is in flight (or its changes are being measured)
    clock.now += 0.2
    debouncer.add("b", [_event("jobs_b")])
    assert _names(debouncer.release()) == ["jobs_a", "jobs_b"]
    assert _names(sent) == ["jobs_a", "jobs_b"]


def test_swept_reports_with_no_sync_in_flight_are_released_at_once() -> None:
    clock, sent = Clock(), []
    debouncer = Debouncer(sent.append, quiet_s=RECEIVER_QUIET_S, clock=clock)
    debouncer.add(None, [_event("jobs")])
    assert _names(debouncer.release()) == ["jobs"]
