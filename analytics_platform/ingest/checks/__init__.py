"""Raw-table checks: did each landed table keep its sync schedule, and was its last sync sane?

Two asset checks on every Fivetran connector table (``fivetran/<schema>/<table>``), the
design's source checks, freshness (required) and row-count anomaly (optional)
(docs/ARCHITECTURE.md), one module per concern:

* :mod:`.tables`: what is checked (the landed tables, the check names, one outcome);
* :mod:`.freshness`: ``raw_freshness``, minutes late against the connector's schedule;
* :mod:`.anomaly`: ``raw_row_count_anomaly``, the latest sync's rows against its trailing syncs;
* :mod:`.sensor`: the check specs, the sensor that records evaluations without a run, and the
  check definition that runs the same evaluation from the UI.

The Fivetran Platform Connector tables (``fivetran/fivetran_metadata/*``) have no connector
schedule and no sync reports of their own (the observers report connector tables only), so
they get no checks rather than checks that could never pass or fail.
"""

from analytics_platform.ingest.checks.anomaly import (
    ANOMALY_CUTOFF,
    MAX_HISTORY,
    MIN_HISTORY,
    MIN_RELATIVE_SCALE,
    AnomalyScore,
    anomaly_outcome,
    row_count_anomaly,
)
from analytics_platform.ingest.checks.freshness import (
    FRESHNESS_ERROR_MINUTES,
    FRESHNESS_WARN_MINUTES,
    Schedule,
    connector_schedule,
    freshness_outcome,
    minutes_late,
    parse_time,
)
from analytics_platform.ingest.checks.sensor import (
    Reports,
    build_raw_check_defs,
    build_raw_checks,
    build_raw_checks_sensor,
    evaluate,
    raw_check_specs,
    sync_reports,
)
from analytics_platform.ingest.checks.tables import (
    RAW_ANOMALY_CHECK,
    RAW_CHECK_NAMES,
    RAW_FRESHNESS_CHECK,
    ROW_COUNT_DELTA,
    CheckOutcome,
    Clock,
    RawTable,
    raw_tables,
    utc_now,
)

__all__ = [
    "ANOMALY_CUTOFF",
    "FRESHNESS_ERROR_MINUTES",
    "FRESHNESS_WARN_MINUTES",
    "MAX_HISTORY",
    "MIN_HISTORY",
    "MIN_RELATIVE_SCALE",
    "RAW_ANOMALY_CHECK",
    "RAW_CHECK_NAMES",
    "RAW_FRESHNESS_CHECK",
    "ROW_COUNT_DELTA",
    "AnomalyScore",
    "CheckOutcome",
    "Clock",
    "RawTable",
    "Reports",
    "Schedule",
    "anomaly_outcome",
    "build_raw_check_defs",
    "build_raw_checks",
    "build_raw_checks_sensor",
    "connector_schedule",
    "evaluate",
    "freshness_outcome",
    "minutes_late",
    "parse_time",
    "raw_check_specs",
    "raw_tables",
    "row_count_anomaly",
    "sync_reports",
    "utc_now",
]
