"""Freshness: how late data may be, per layer of marts.

This module is the one place the design's freshness thresholds are written down. Data fed by
the 15-minute Jobs DB warns once it is 30 minutes late and fails (pages) at 60 minutes
(:data:`SYNC_WINDOW`); the marts built from it inherit that window. The executive summary is a
daily report (6 AM ET), so it gets a day (:data:`DAILY_REPORT_WINDOW`). Files that cannot import
Python repeat a window (``alerting.yaml``'s ``fivetran_sync_delay`` rule, the Jobs DB source
freshness in dbt); the unit tests hold them to the values here. docs/ARCHITECTURE.md has the
alert matrix these come from.

The windows are the layer defaults of each asset's declared rebuild policy; the Dagster
``FreshnessPolicy`` an asset carries is derived from that declaration
(:func:`analytics_platform.automation.policy.with_declared_freshness`), so the planner and the
UI's freshness view read one source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import dagster as dg


@dataclass(frozen=True)
class FreshnessWindow:
    """How late data may be: past ``warn`` a warning (Slack), past ``fail`` a failure (page)."""

    warn: timedelta
    fail: timedelta

    @property
    def warn_minutes(self) -> float:
        """``warn`` in minutes, the unit of the alert rules and the raw-table checks."""
        return self.warn.total_seconds() / 60

    @property
    def fail_minutes(self) -> float:
        """``fail`` in minutes, the unit of the alert rules and the raw-table checks."""
        return self.fail.total_seconds() / 60

    def policy(self) -> dg.FreshnessPolicy:
        """This window as a Dagster time-window freshness policy."""
        return dg.FreshnessPolicy.time_window(fail_window=self.fail, warn_window=self.warn)


SYNC_WINDOW = FreshnessWindow(warn=timedelta(minutes=30), fail=timedelta(minutes=60))
"""Data fed by the 15-minute Jobs DB, and a Fivetran sync's delay past its schedule."""

DAILY_REPORT_WINDOW = FreshnessWindow(warn=timedelta(hours=24), fail=timedelta(hours=26))
"""A report built once a day: a day's grace, and two hours more before it pages."""

LAYER_WINDOWS: dict[str, FreshnessWindow] = {
    "marts_core": SYNC_WINDOW,
    "marts_finance": SYNC_WINDOW,
    "marts_operations": SYNC_WINDOW,
    "marts_ops": SYNC_WINDOW,
    "marts_executive": DAILY_REPORT_WINDOW,
}
"""Warn/fail windows per mart group (the groups come from the dbt translator)."""

LAYER_POLICIES: dict[str, dg.FreshnessPolicy] = {
    group: window.policy() for group, window in LAYER_WINDOWS.items()
}
"""The Dagster freshness policy of each group in :data:`LAYER_WINDOWS`."""


SLOW_CHANGING = frozenset({"dim_date", "dim_services"})
"""Marts whose inputs change rarely (a calendar, a service catalog): a sync lands no rows for
them, so nothing rebuilds them, and a time window on their last build would cry wolf. Their
default policy is therefore ``on_demand`` (no window)."""
