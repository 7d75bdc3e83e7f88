"""Connector configuration as code: ``fivetran.yaml`` applied to a Fivetran account.

* :mod:`.desired`: the file, validated (per connection: tables enabled or excluded with the
  reason, hashed and blocked columns, schema-change handling, schedule, paused);
* :mod:`.api`: the REST calls (httpx, tenacity retries on 429 and 5xx only);
* :mod:`.plan`: the account against the file, a pure diff and its text;
* :mod:`.apply`: the documented PATCH calls that close the difference;
* :mod:`.cli`: ``python -m analytics_platform.ingest.connectors plan|apply``.
"""

from analytics_platform.ingest.connectors.api import FivetranApi, FivetranApiError, connect
from analytics_platform.ingest.connectors.apply import ApplyReport, apply
from analytics_platform.ingest.connectors.desired import DesiredState, load_desired
from analytics_platform.ingest.connectors.plan import Plan, diff_account, read_plan, render_plan

__all__ = [
    "ApplyReport",
    "DesiredState",
    "FivetranApi",
    "FivetranApiError",
    "Plan",
    "apply",
    "connect",
    "diff_account",
    "load_desired",
    "read_plan",
    "render_plan",
]
