"""The selections and rebuild rules that the conditions and both sensors share."""

from __future__ import annotations

import dagster as dg

STAGING_VIEWS = dg.AssetSelection.groups("staging")
"""Pass-through views: an update of their source is an update of the view's data."""
CONNECTOR_TABLES = dg.AssetSelection.kind("fivetran", include_sources=True)
"""What syncs land: their updates are the sync sensor's, never the conditions'."""

REBUILD_TAG = "fieldforce/rebuild"
"""Asset tag that states each dbt asset's rebuild rule, so sensors and the UI can read it."""
ON_UPSTREAM = "upstream"
"""Tables, incrementals and snapshots: rebuilt when something they read changes."""
ON_CODE = "code"
"""Views: rebuilt when missing or when their SQL changes."""
ON_CRON = "cron"
"""Scheduled reports: rebuilt on their cron."""

TRIGGER_TAG = "fieldforce/trigger"
"""Run tag naming the sensor that asked for the run (``sync`` or ``catch-up``)."""
