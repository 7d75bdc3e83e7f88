"""Automation: what rebuilds when, and who decides it.

* every asset declares a policy next to its model (:mod:`.policy`: eager, freshness, cron,
  on demand), from which its Dagster ``FreshnessPolicy`` is derived too;
* one sensor, the SLA planner (:mod:`.planner_sensor` over the pure :mod:`.planner`), decides
  every rebuild caused by data, measured in source data time (:mod:`.datatime`), waiting for
  the syncs Fivetran's schedule says are coming (:mod:`.expected`) and running the checks a run
  left behind (:mod:`.owed_checks`);
* the declarative conditions (:mod:`.conditions`) keep what is not about data: a first build,
  a view whose SQL changed, a report's cron;
* the savings mart (:mod:`.savings`) shows what the planner saved, per asset and day.
"""

from analytics_platform.automation.selection import (
    ON_CODE,
    ON_CRON,
    ON_UPSTREAM,
    REBUILD_TAG,
    TRIGGER_TAG,
)

__all__ = ["ON_CODE", "ON_CRON", "ON_UPSTREAM", "REBUILD_TAG", "TRIGGER_TAG"]
