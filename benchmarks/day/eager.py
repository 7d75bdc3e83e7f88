"""Strategy ``eager``: the first wave's automation, every sync rebuilds everything downstream.

What the platform shipped before the SLA planner (its JSON keys keep the ``automation_`` aliases):
the webhook receiver holds a tick's reports while its syncs run back to back, releases them
``QUIET_S`` after the last one, and the sync sensor, at its first tick once the batch is
``SYNC_QUIET_S`` old, requests one run of every table downstream of the changed connector
tables, through views and tables, stopping at scheduled reports (their cron's). The first
wave's declarative conditions added nothing to that run over a whole day (``automation_runs``
was one per tick), so they are not re-evaluated here: the selection is computed from the same
lineage every strategy reads (``benchmarks.day.lineage``), which keeps the baseline fixed
while the platform's automation changes. Dagster's run launch is not added: ``bench latency``
measures that path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmarks.day.clock import SENSOR_INTERVAL_S, next_tick, released_at
from benchmarks.day.lineage import Lineage
from benchmarks.day.records import Sync
from benchmarks.day.strategies import Selective

SYNC_QUIET_S = 0.5
"""The first wave's sync sensor acted on a batch of reports once its newest was this old."""


@dataclass
class Eager(Selective):
    """One run per batch of syncs: every table downstream of what they changed."""

    lineage: Lineage = field(default_factory=lambda: Lineage.build((), {}, {}, {}))

    def react(self, syncs: Sequence[Sync], until_s: float | None = None) -> None:
        """The sync sensor's one run for the tick's released batch, if it changed anything."""
        changed = {table for sync in syncs for table in sync.changed}
        released = released_at([sync.end_s for sync in syncs])
        if not changed or released is None:
            return
        selection = self.lineage.downstream(changed, past_cron=False)
        if selection:
            self.build_keys(next_tick(released + SYNC_QUIET_S, SENSOR_INTERVAL_S), selection)
