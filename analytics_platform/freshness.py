"""Freshness policies: one per layer of marts, from the SDD's SLAs, applied once in definitions.

The SDD's data-freshness SLO escalates at 15 min (Slack) and 30 min (page) past schedule, and
the Jobs DB source is warned at 30 min and errors at 60 min. Marts fed by the 15-minute Jobs DB
inherit that window; the executive summary is a daily report (6 AM ET), so it gets a day.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

LAYER_POLICIES: dict[str, dg.FreshnessPolicy] = {
    "marts_core": dg.FreshnessPolicy.time_window(
        fail_window=timedelta(minutes=60), warn_window=timedelta(minutes=30)
    ),
    "marts_finance": dg.FreshnessPolicy.time_window(
        fail_window=timedelta(minutes=60), warn_window=timedelta(minutes=30)
    ),
    "marts_operations": dg.FreshnessPolicy.time_window(
        fail_window=timedelta(minutes=60), warn_window=timedelta(minutes=30)
    ),
    "marts_ops": dg.FreshnessPolicy.time_window(
        fail_window=timedelta(minutes=60), warn_window=timedelta(minutes=30)
    ),
    "marts_executive": dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=26), warn_window=timedelta(hours=24)
    ),
}
"""Warn/fail windows per mart group (the groups come from the dbt translator)."""


SLOW_CHANGING = frozenset({"dim_date", "dim_services"})
"""Marts whose inputs change rarely (a calendar, a service catalog): a sync lands no rows for
them, so nothing rebuilds them, and a time window on their last build would cry wolf."""


def with_layer_policy(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Attach the freshness policy of the spec's layer; other layers are left as they are."""
    policy = LAYER_POLICIES.get(spec.group_name or "")
    if policy is None or spec.key.path[-1] in SLOW_CHANGING:
        return spec
    return spec.replace_attributes(freshness_policy=policy)
