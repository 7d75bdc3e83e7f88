"""The receiver's debouncer: reports held while syncs are in flight, then released together.

Fivetran runs connectors in parallel: when two land close together, reporting each at once
would start a rebuild of their shared downstream assets, and the second report would then need
another. Holding reports until the in-flight syncs end releases them in one burst: one rebuild.
With no other sync in flight, a report goes out at once (the default quiet period is zero,
:data:`analytics_platform.batching.RECEIVER_QUIET_S`): waiting would only delay its run. When a batch is due is decided by
:func:`analytics_platform.batching.batch_due`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from analytics_platform.batching import RECEIVER_MAX_HOLD_S, RECEIVER_QUIET_S, batch_due
from analytics_platform.ingest.webhook.observer import Event

log = logging.getLogger("fieldforce.webhook")


class Debouncer:
    """Releases reports once no sync is in flight (and ``quiet_s``, zero by default, has passed).

    Reports are held until the in-flight syncs end (at most ``max_hold_s``) and ``quiet_s``
    has passed without a new event. A sync counts as in flight from its ``sync_start`` until its
    ``sync_end`` has been measured and added, so a sync that ends while another's changes are
    still being measured does not release without them. Reports that fail to reach Dagster go back to the queue and
    are retried, never dropped.
    """

    def __init__(
        self,
        reporter: Callable[[Event], None],
        quiet_s: float = RECEIVER_QUIET_S,
        max_hold_s: float = RECEIVER_MAX_HOLD_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``reporter`` delivers one event and raises when it could not."""
        self._reporter = reporter
        self._quiet_s = quiet_s
        self._max_hold_s = max_hold_s
        self._clock = clock
        self._cond = threading.Condition()
        self._pending: list[Event] = []
        self._in_flight: dict[str, float] = {}
        self._last_activity = clock()
        self._first_pending: float | None = None
        self._stopped = False
        self._thread: threading.Thread | None = None

    def sync_started(self, connector_id: str) -> None:
        """A ``sync_start``: hold what is pending until this sync ends."""
        with self._cond:
            self._in_flight[connector_id] = self._clock()
            self._last_activity = self._clock()

    def add(self, connector_id: str | None, events: Iterable[Event]) -> None:
        """A sync ended (or the sweep found events): queue its events for release."""
        with self._cond:
            if connector_id is not None:
                self._in_flight.pop(connector_id, None)
            new = list(events)
            if new and self._first_pending is None:
                self._first_pending = self._clock()
            self._pending += new
            self._last_activity = self._clock()
            self._cond.notify_all()

    def due(self) -> bool:
        """Whether pending events should be released now."""
        if not self._pending:
            return False
        return batch_due(
            self._first_pending,
            self._last_activity,
            self._clock(),
            self._quiet_s,
            self._max_hold_s,
            in_flight_since=self._in_flight.values(),
        )

    def release(self) -> list[Event]:
        """Deliver what is due; events that fail to deliver go back to the queue."""
        with self._cond:
            if not self.due():
                return []
            batch, self._pending, self._first_pending = self._pending, [], None
        delivered: list[Event] = []
        for position, event in enumerate(batch):
            try:
                self._reporter(event)
            except Exception:
                log.exception("could not report %s; will retry", event.asset_key)
                with self._cond:
                    self._pending = batch[position:] + self._pending
                    self._first_pending = self._first_pending or self._clock()
                    self._last_activity = self._clock()
                break
            delivered.append(event)
        return delivered

    def start(self) -> Debouncer:
        """Release in a background thread until :meth:`stop`."""

        def loop() -> None:
            while not self._stopped:
                with self._cond:
                    self._cond.wait(timeout=0.5)
                self.release()

        self._thread = threading.Thread(target=loop, name="webhook-debouncer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the background thread (pending events stay queued)."""
        self._stopped = True
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
