"""Daily partitions of the incremental facts, and how a partition window becomes dbt vars.

A partition is a UTC day of the fact's event date. A backfill of any range runs as one dbt
invocation (``BackfillPolicy.single_run``) that rebuilds exactly ``[min_date, max_date]``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import date, timedelta

import dagster as dg

FIRST_DAY = os.environ.get("FIELDFORCE_FIRST_PARTITION_DATE", "2026-01-01")
"""The data's first day (the source estate's history starts here; override per deployment)."""

PARTITIONED_MODELS = ("fct_jobs", "fct_revenue", "int_technician_daily_metrics")
"""The incremental facts with a daily partition (``min_date``/``max_date`` windows)."""
PARTITION_TAG = "fieldforce/partitions"
"""Asset tag on the partitioned facts, so automation conditions can select them."""
PARTITIONED = dg.AssetSelection.tag(PARTITION_TAG, "daily")
"""The partitioned facts: they build in runs of their own (one partition per run)."""

daily_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="UTC")
backfill_policy = dg.BackfillPolicy.single_run()


def window_vars(start: date, end_exclusive: date) -> dict[str, str]:
    """The dbt vars that rebuild the inclusive window of days ``[start, end_exclusive)``."""
    if end_exclusive <= start:
        raise ValueError(f"empty partition window {start} .. {end_exclusive}")
    return {
        "min_date": start.isoformat(),
        "max_date": (end_exclusive - timedelta(days=1)).isoformat(),
    }


def dbt_build_args(
    select: str | None = None,
    vars_: Mapping[str, str] | None = None,
    full_refresh: bool = False,
) -> list[str]:
    """The dbt CLI arguments of one run (pure, so a unit test can pin them down)."""
    # "cautious": a test runs only when every model it reads is in the run, so building a seed
    # alone never runs a relationship test against a staging view that is not built yet.
    args = ["build", "--indirect-selection", "cautious"]
    if select:
        args += ["--select", select]
    if vars_:
        args += ["--vars", json.dumps(dict(vars_), sort_keys=True)]
    if full_refresh:
        args.append("--full-refresh")
    return args
