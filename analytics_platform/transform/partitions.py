"""Daily partitions of the incremental facts, and how a partition window becomes dbt vars.

A partition is a UTC day of the fact's event date (the model's ``meta.rebuild.date_column``).
A backfill of any range runs as one dbt invocation (``BackfillPolicy.single_run``) that
rebuilds exactly ``[min_date, max_date]``; any other run is dbt's incremental merge, and the
partitions it reports are the days of the rows it wrote (:func:`changed_days_sql`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg

FIRST_DAY = os.environ.get("FIELDFORCE_FIRST_PARTITION_DATE", "2026-01-01")
"""The partitions' first day: the data's first day, set per deployment (the local stack passes
the first day of its source estate)."""

PARTITIONED_MODELS = ("fct_jobs", "fct_revenue", "int_technician_daily_metrics")
"""The incremental facts with a daily partition (``min_date``/``max_date`` windows)."""
PARTITION_TAG = "fieldforce/partitions"
"""Asset tag on the partitioned facts, so the UI and selections can find them."""
BUILT_AT_COLUMN = "_dbt_updated_at"
"""Every fact row's build time (naive UTC, the warehouse clock): which rows a build wrote."""
READ_AT_COLUMN = "_changes_read_at"
"""When an incremental build that wrote the row read its inputs' changes (null in a window run):
readers of the model take upstream rows written after the newest one (macros/incremental.sql)."""
BUILD_STAMP_COLUMNS = (BUILT_AT_COLUMN, READ_AT_COLUMN)
"""Columns stamped with a build's own time: equal data, different values between two builds."""

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


def partition_date_column(node: Mapping[str, Any]) -> str:
    """The column a partitioned fact's days come from: its ``meta.rebuild.date_column``.

    Raises:
        ValueError: the model declares no ``meta.rebuild.date_column``.
    """
    meta = node.get("config", {}).get("meta", {}) or node.get("meta", {})
    column = (meta.get("rebuild") or {}).get("date_column")
    if not column:
        raise ValueError(f"{node.get('unique_id')} declares no meta.rebuild.date_column")
    return str(column)


def changed_days_sql(relation: str, date_column: str, built_since: datetime) -> str:
    """The distinct days of the rows of ``relation`` that a build started at ``built_since`` wrote.

    The facts stamp every row they write with the statement's time (``utc_now()``), and dbt
    starts after ``built_since``, so rows a build left alone carry an older stamp. A build
    rewrites whole days of the daily aggregates (their lookback) and only changed versions of
    a row-level fact: either way these are the days whose rows the build changed.
    """
    if built_since.tzinfo is not None:
        built_since = built_since.astimezone(UTC).replace(tzinfo=None)
    stamp = built_since.isoformat(sep=" ", timespec="microseconds")
    return (
        f"select distinct cast({date_column} as date) from {relation}"
        f" where {BUILT_AT_COLUMN} >= cast('{stamp}' as timestamp)"
        f" and {date_column} is not null"
    )


def partition_keys_of_days(
    days: Iterable[date | datetime | str], partitions_def: dg.PartitionsDefinition
) -> tuple[list[str], list[str]]:
    """The days as partition keys, split into (partitions that exist, days that are not yet).

    Days outside the definition (today, the future of a booked job) are no partition yet:
    Dagster would drop their materializations from the partition status, so they are reported
    once a later build rewrites them as past days.
    """
    keys = sorted(
        {d.isoformat()[:10] if isinstance(d, date | datetime) else str(d)[:10] for d in days}
    )
    existing = [key for key in keys if partitions_def.has_partition_key(key)]
    return existing, [key for key in keys if key not in existing]
