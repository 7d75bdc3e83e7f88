"""The rebuild rules and run tags that the translator, the planner and the UI share."""

from __future__ import annotations

REBUILD_TAG = "fieldforce/rebuild"
"""Asset tag that states each dbt asset's rebuild rule, so sensors and the UI can read it."""
ON_UPSTREAM = "upstream"
"""Tables, incrementals and snapshots: rebuilt when something they read changes."""
ON_CODE = "code"
"""Views: rebuilt when missing or when their SQL changes."""
ON_CRON = "cron"
"""Scheduled reports: rebuilt on their cron."""

TRIGGER_TAG = "fieldforce/trigger"
"""Run tag naming who asked for the run (``planner``, ``planner-checks``)."""
