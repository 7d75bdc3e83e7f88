"""Tables shaped like Snowflake's ``SNOWFLAKE.ACCOUNT_USAGE`` views, in DuckDB, for the cost alerts.

Column names and types follow Snowflake's views (``NUMBER`` as ``DECIMAL``, ``TIMESTAMP_LTZ`` as
``TIMESTAMPTZ``; only the columns a reader of these views commonly needs). A DuckDB file named
``snowflake.duckdb`` is the catalog ``snowflake``, so the production relation names
(``snowflake.account_usage.metering_history``) resolve unchanged against it.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

METERING_HISTORY_DDL = """
create table if not exists account_usage.metering_history (
    service_type varchar,
    start_time timestamptz,
    end_time timestamptz,
    entity_id decimal(38, 0),
    name varchar,
    credits_used_compute decimal(38, 9),
    credits_used_cloud_services decimal(38, 9),
    credits_used decimal(38, 9),
    bytes decimal(38, 0),
    "rows" decimal(38, 0),
    files decimal(38, 0)
)
"""

QUERY_HISTORY_DDL = """
create table if not exists account_usage.query_history (
    query_id varchar,
    query_text varchar,
    database_name varchar,
    schema_name varchar,
    query_type varchar,
    user_name varchar,
    role_name varchar,
    warehouse_id decimal(38, 0),
    warehouse_name varchar,
    warehouse_size varchar,
    execution_status varchar,
    start_time timestamptz,
    end_time timestamptz,
    total_elapsed_time decimal(38, 0),
    compilation_time decimal(38, 0),
    execution_time decimal(38, 0),
    queued_provisioning_time decimal(38, 0),
    queued_repair_time decimal(38, 0),
    queued_overload_time decimal(38, 0),
    credits_used_cloud_services decimal(38, 9)
)
"""

_ids = itertools.count(1)


def account_usage_file(directory: Path) -> Path:
    """A DuckDB file whose catalog is ``snowflake``, holding the two empty views' tables."""
    path = directory / "snowflake.duckdb"
    with duckdb.connect(str(path)) as connection:
        create_views(connection)
    return path


def create_views(connection: Any) -> None:
    """Create ``account_usage.metering_history`` and ``account_usage.query_history``."""
    connection.execute("create schema if not exists account_usage")
    connection.execute(METERING_HISTORY_DDL)
    connection.execute(QUERY_HISTORY_DDL)


def meter(
    connection: Any, start: datetime, credits: float, warehouse: str = "TRANSFORMING"
) -> None:
    """One hour of a warehouse's metering, starting at ``start``."""
    compute = round(credits * 0.9, 9)
    connection.execute(
        "insert into account_usage.metering_history values"
        " ('WAREHOUSE_METERING', ?, ?, 1, ?, ?, ?, ?, null, null, null)",
        [start, start + timedelta(hours=1), warehouse, compute, credits - compute, credits],
    )


def query(
    connection: Any,
    start: datetime,
    queued_minutes: float,
    warehouse: str | None = "TRANSFORMING",
) -> None:
    """One finished query that waited ``queued_minutes`` for the warehouse's capacity."""
    queued_ms = round(queued_minutes * 60_000)
    connection.execute(
        "insert into account_usage.query_history values"
        " (?, 'select 1', 'ANALYTICS', 'MARTS', 'SELECT', 'DBT', 'DBT_PROD_ROLE', 1, ?,"
        " 'Small', 'SUCCESS', ?, ?, ?, 10, 1000, 0, 0, ?, 0.000001)",
        [
            f"01b-{next(_ids):08d}",
            warehouse,
            start,
            start + timedelta(milliseconds=queued_ms + 1010),
            queued_ms + 1010,
            queued_ms,
        ],
    )
