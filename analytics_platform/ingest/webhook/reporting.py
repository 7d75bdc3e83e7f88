"""The receiver's one link to Dagster: the webserver, for delivery and for reading back.

Delivery is one event to the webserver's ``/report_asset_<kind>/<key>`` endpoint. Reading back
is what those deliveries left in the instance (each landed table's latest materialization and
observation, :func:`graphql_reported`), asked of the same webserver's GraphQL API. The receiver
faces the internet: going through the webserver keeps the instance's database credentials out
of it, and gives it one dependency, not two.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import dagster as dg
import httpx

from analytics_platform.ingest.observe import FAILED_AT, SYNCED_THROUGH, Reported, ReportedReader
from analytics_platform.ingest.webhook.observer import Event

_LATEST = """
  %(alias)s: assetOrError(assetKey: {path: %(path)s}) {
    ... on Asset {
      assetMaterializations(limit: 1) { metadataEntries { label ...Value } }
      assetObservations(limit: 1) { metadataEntries { label ...Value } }
    }
  }"""
_FRAGMENT = """
fragment Value on MetadataEntry {
  ... on TextMetadataEntry { text }
  ... on IntMetadataEntry { intRepr }
  ... on FloatMetadataEntry { floatValue }
}"""


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


def latest_events_query(keys: Sequence[dg.AssetKey]) -> str:
    """One GraphQL query for the latest materialization and observation of every key."""
    parts = [
        _LATEST % {"alias": f"k{index}", "path": json.dumps(list(key.path))}
        for index, key in enumerate(keys)
    ]
    return "query LatestEvents {" + "".join(parts) + "\n}" + _FRAGMENT


def _entries(events: list[dict[str, Any]]) -> dict[str, str]:
    if not events:
        return {}
    return {
        entry["label"]: str(entry.get("text", entry.get("intRepr", entry.get("floatValue"))))
        for entry in events[0].get("metadataEntries") or []
    }


def parse_latest_events(
    keys: Sequence[dg.AssetKey], data: dict[str, Any]
) -> dict[dg.AssetKey, Reported]:
    """:class:`Reported` per key from the ``data`` of :func:`latest_events_query`'s answer.

    A key Dagster has no events for (``AssetNotFoundError``) maps to ``Reported()``.
    """
    result = {}
    for index, key in enumerate(keys):
        node = data.get(f"k{index}") or {}
        materialized = _entries(node.get("assetMaterializations") or [])
        observed = _entries(node.get("assetObservations") or [])
        through = materialized.get(SYNCED_THROUGH)
        result[key] = Reported(
            synced_through=datetime.fromisoformat(through) if through else None,
            failed_at=observed.get(FAILED_AT),
        )
    return result


def graphql_reported(dagster_url: str, batch: int = 50) -> ReportedReader:
    """A :data:`ReportedReader` through the webserver's GraphQL API.

    Args:
        dagster_url: the webserver's base URL.
        batch: keys per query (one round trip each).

    Raises:
        httpx.HTTPError: the webserver could not be reached or answered with errors (the
            caller retries: a guessed watermark could report a sync twice or never).
    """

    def read(keys: Sequence[dg.AssetKey]) -> dict[dg.AssetKey, Reported]:
        result: dict[dg.AssetKey, Reported] = {}
        for start in range(0, len(keys), batch):
            chunk = list(keys[start : start + batch])
            response = httpx.post(
                f"{dagster_url.rstrip('/')}/graphql",
                json={"query": latest_events_query(chunk)},
                timeout=30,
            )
            response.raise_for_status()
            answer = response.json()
            if answer.get("errors"):
                raise httpx.HTTPError(f"Dagster GraphQL errors: {answer['errors']}")
            result |= parse_latest_events(chunk, answer["data"])
        return result

    return read
