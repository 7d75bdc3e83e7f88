"""Automation: what rebuilds when, and the sensors that decide it.

* a sync that lands data rebuilds, in **one run**, every table downstream of the changed
  connector tables, looking through the staging views (:mod:`.sync_sensor`);
* views, tables and scheduled reports otherwise follow the declarative conditions that the
  translator attaches to each dbt asset (:mod:`.conditions`);
* the catch-up sensor is the state-based safety net for everything else: it compares each
  table's last *run start* with the newest materialization of what it reads (:mod:`.catch_up`).

The selections and rebuild rules they share are in :mod:`.selection`; when a batch of sync
reports is acted on is :mod:`analytics_platform.batching`'s rule.
"""

from analytics_platform.automation.catch_up import (
    ACTIVE_STATUSES,
    CATCH_UP_GRACE_S,
    CATCH_UP_RUN_TAGS,
    AssetState,
    build_catch_up_sensor,
    reads_through_views,
    stale_roots,
)
from analytics_platform.automation.conditions import (
    cron_condition,
    deps_missing,
    table_condition,
    upstream_updated,
    view_condition,
    waits_for_another_run,
)
from analytics_platform.automation.selection import (
    CONNECTOR_TABLES,
    ON_CODE,
    ON_CRON,
    ON_UPSTREAM,
    REBUILD_TAG,
    STAGING_VIEWS,
    TRIGGER_TAG,
)
from analytics_platform.automation.sync_sensor import (
    build_sync_sensor,
    sync_batch_due,
    sync_rebuilds,
    sync_selection,
)
from analytics_platform.batching import SYNC_MAX_HOLD_S, SYNC_QUIET_S

__all__ = [
    "ACTIVE_STATUSES",
    "CATCH_UP_GRACE_S",
    "CATCH_UP_RUN_TAGS",
    "CONNECTOR_TABLES",
    "ON_CODE",
    "ON_CRON",
    "ON_UPSTREAM",
    "REBUILD_TAG",
    "STAGING_VIEWS",
    "SYNC_MAX_HOLD_S",
    "SYNC_QUIET_S",
    "TRIGGER_TAG",
    "AssetState",
    "build_catch_up_sensor",
    "build_sync_sensor",
    "cron_condition",
    "deps_missing",
    "reads_through_views",
    "stale_roots",
    "sync_batch_due",
    "sync_rebuilds",
    "sync_selection",
    "table_condition",
    "upstream_updated",
    "view_condition",
    "waits_for_another_run",
]
