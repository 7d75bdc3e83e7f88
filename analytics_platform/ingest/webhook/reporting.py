"""Delivery to Dagster: one event to the webserver's ``/report_asset_<kind>/<key>`` endpoint."""

from __future__ import annotations

import json
from urllib.parse import quote

import dagster as dg
import httpx

from analytics_platform.ingest.webhook.observer import Event


def report(dagster_url: str, event: Event) -> None:
    """Report one event to the Dagster webserver's REST API.

    Args:
        dagster_url: the webserver's base URL.
        event: a materialization or an observation of one asset.

    Raises:
        httpx.HTTPError: the webserver could not be reached or refused the report.
    """
    kind = "materialization" if isinstance(event, dg.AssetMaterialization) else "observation"
    path = "/".join(quote(part, safe="") for part in event.asset_key.path)
    body = {
        "description": event.description,
        "metadata": {key: value.value for key, value in event.metadata.items()},
    }
    response = httpx.post(
        f"{dagster_url.rstrip('/')}/report_asset_{kind}/{path}",
        content=json.dumps(body, default=str),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    response.raise_for_status()
