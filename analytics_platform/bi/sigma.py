"""marts → BI: the Sigma dashboards of the dbt exposures, as the graph's last assets.

Lineage ends where users look. Each dbt exposure of type ``dashboard`` becomes an external
asset ``sigma/<exposure>`` that depends on the marts it reads, so the UI shows which dashboards a
broken model or a late sync reaches. Dagster never builds them: Sigma queries the marts live.
The specs come from the same prepared manifest as the dbt assets (no ``dbt parse`` at load).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator

BI_GROUP = "bi_sigma"


def _owner(exposure: Mapping[str, Any]) -> list[str]:
    email = (exposure.get("owner") or {}).get("email")
    return [email] if email else []


def sigma_dashboard_specs(
    manifest_path: Path, translator: DagsterDbtTranslator
) -> list[dg.AssetSpec]:
    """One external asset per dbt exposure, depending on the assets of the nodes it reads."""
    manifest = json.loads(manifest_path.read_text())
    nodes: dict[str, Mapping[str, Any]] = {**manifest["nodes"], **manifest["sources"]}
    specs = []
    for exposure in sorted(manifest.get("exposures", {}).values(), key=lambda e: e["name"]):
        deps = [
            translator.get_asset_key(nodes[unique_id])
            for unique_id in exposure.get("depends_on", {}).get("nodes", [])
            if unique_id in nodes
        ]
        meta = exposure.get("meta") or {}
        metadata: dict[str, Any] = {
            "sigma/url": dg.MetadataValue.url(exposure["url"]) if exposure.get("url") else None,
            "sigma/maturity": exposure.get("maturity"),
            "sigma/refresh_schedule": meta.get("refresh_schedule"),
            "sigma/certified": meta.get("certified"),
        }
        specs.append(
            dg.AssetSpec(
                ["sigma", exposure["name"]],
                deps=sorted(deps, key=lambda key: key.to_user_string()),
                group_name=BI_GROUP,
                kinds={"sigma", exposure.get("type") or "dashboard"},
                owners=_owner(exposure),
                description=exposure.get("description") or exposure.get("label"),
                metadata={key: value for key, value in metadata.items() if value is not None},
            )
        )
    return specs
