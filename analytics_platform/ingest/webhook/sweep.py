"""The sweep: syncs whose webhook never came are found through the Fivetran API.

A sync that ended while the receiver was down, or whose webhook Fivetran gave up delivering,
is still reported: the sweep asks the API for each connector's last sync at start-up and then
periodically, and the watermarks make a second look at an already reported sync report nothing.
The start-up sweep is also how a restarted receiver recovers what it had measured and not yet
delivered when it stopped: those tables' watermarks in Dagster never moved, so they measure
as changed again.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from analytics_platform.ingest.webhook.debounce import Debouncer
from analytics_platform.ingest.webhook.observer import SyncObserver

log = logging.getLogger("fieldforce.webhook")

SWEEP_INTERVAL_S = 60.0
"""Seconds between sweeps of the Fivetran API."""


def sweep(observer: SyncObserver, workspace: Any, debouncer: Debouncer, interval_s: float) -> None:
    """Report syncs the webhooks missed: at start-up, then every ``interval_s``, forever.

    Args:
        observer: the receiver's observer (its watermarks say what is already reported).
        workspace: the Fivetran workspace whose client reads each connector's details.
        debouncer: where the events found go, to be released with the webhooks' events.
        interval_s: seconds between sweeps.
    """
    while True:
        try:
            events = observer.reconcile(workspace.get_client().get_connector_details)
            if events:
                log.info("sweep found %d unreported sync event(s)", len(events))
            debouncer.add(None, events)
        except Exception:
            log.exception("sweep of the Fivetran API failed; will retry")
        time.sleep(interval_s)


def start_sweep(
    observer: SyncObserver, workspace: Any, debouncer: Debouncer, interval_s: float
) -> threading.Thread:
    """Run :func:`sweep` in a daemon thread.

    Args:
        observer: the receiver's observer.
        workspace: the Fivetran workspace.
        debouncer: where the events found go.
        interval_s: seconds between sweeps.

    Returns:
        The started thread.
    """
    thread = threading.Thread(
        target=sweep,
        args=(observer, workspace, debouncer, interval_s),
        name="fivetran-sweep",
        daemon=True,
    )
    thread.start()
    return thread
