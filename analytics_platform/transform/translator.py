"""How dbt resources become Dagster assets.

Keys mirror the warehouse, groups follow the layers, owners come from meta, and each
materialization gets the automation condition that fits it.

The conditions themselves live in ``analytics_platform.automation``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from analytics_platform.automation.conditions import (
    cron_condition,
    planned_condition,
    view_condition,
)
from analytics_platform.automation.policy import (
    POLICY_METADATA_KEY,
    declared_policy,
    format_policy,
)
from analytics_platform.automation.selection import ON_CODE, ON_CRON, ON_UPSTREAM, REBUILD_TAG
from analytics_platform.transform.partitions import (
    PARTITION_TAG,
    PARTITIONED_MODELS,
    daily_partitions,
)

DEFAULT_OWNER = "team:analytics-engineering"


def layer_of(props: Mapping[str, Any]) -> str:
    """The project layer of a dbt node from its fqn: staging, intermediate, marts, ..."""
    resource_type = props["resource_type"]
    if resource_type in ("snapshot", "seed"):
        return f"{resource_type}s"
    fqn = props.get("fqn", [])
    return fqn[1] if len(fqn) > 2 else "models"


def dagster_meta(props: Mapping[str, Any]) -> dict[str, Any]:
    """``meta.dagster`` of a dbt node (config-level first, node-level overrides)."""
    meta = {**props.get("config", {}).get("meta", {}).get("dagster", {})}
    return meta | props.get("meta", {}).get("dagster", {})


def rebuild_rule(props: Mapping[str, Any]) -> str:
    """When a dbt node rebuilds: on its cron, on a code change (views), or on upstream updates."""
    if dagster_meta(props).get("cron"):
        return ON_CRON
    materialized = props.get("config", {}).get("materialized")
    if props["resource_type"] == "model" and materialized in ("view", "ephemeral"):
        return ON_CODE
    return ON_UPSTREAM


class FieldForceDbtTranslator(DagsterDbtTranslator):
    """Keys ``<layer>[/<area>]/<name>``, groups by layer, owners from meta, layered automation."""

    def __init__(self) -> None:
        """Code references let the UI link each asset to its SQL file."""
        super().__init__(
            settings=DagsterDbtTranslatorSettings(
                enable_code_references=True,
                enable_source_tests_as_checks=True,
            )
        )

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> dg.AssetSpec:
        """dagster-dbt's spec with the declared policy; the daily facts carry their partitions.

        On the spec, not on a multi-asset of their own: the whole project stays one
        multi-asset, so a sync's run (tables, the facts, reports) is one step.
        """
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        # The declared rebuild policy (meta.fieldforce.policy or the layer's default), as
        # canonical text: the planner and the derived FreshnessPolicy both read it from here.
        policy = declared_policy(props, self.get_group_name(props))
        if policy is not None:
            spec = spec.merge_attributes(metadata={POLICY_METADATA_KEY: format_policy(policy)})
        if props["resource_type"] == "model" and props["name"] in PARTITIONED_MODELS:
            return spec.replace_attributes(partitions_def=daily_partitions)
        return spec

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: Any,
    ) -> dg.AssetCheckSpec | None:
        """Tests as asset checks, minus the edges from a check to views and seeds.

        A relationship test also depends on the model it references. When that model is a
        view or a seed (read live, or reference data that changes only with the code), a
        sync's run never builds it, and Dagster's op-cycle resolution then gives the check a
        step of its own: a whole extra ``dbt build`` for a few tests, on the path from a sync
        to its marts. The test itself is unchanged: it still runs with the model it
        checks, against the view or seed already in the warehouse.
        """
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        nodes = manifest.get("nodes", {})
        static = {
            self.get_asset_key(nodes[parent])
            for parent in nodes.get(unique_id, {}).get("depends_on", {}).get("nodes", [])
            if parent in nodes
            and (nodes[parent]["resource_type"] == "seed" or rebuild_rule(nodes[parent]) == ON_CODE)
        }
        kept = [dep for dep in spec.additional_deps if dep.asset_key not in static]
        if len(kept) == len(spec.additional_deps):
            return spec
        return spec._replace(additional_deps=kept)

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        """Sources use their ``meta.dagster.asset_key`` (``fivetran/<schema>/<table>``)."""
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        layer = layer_of(dbt_resource_props)
        name = dbt_resource_props["name"]
        if layer == "marts":
            return dg.AssetKey(["marts", dbt_resource_props["fqn"][2], name])
        return dg.AssetKey([layer, name])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """Groups: ``staging``, ``intermediate``, ``marts_<area>``, ``snapshots``, ``seeds``."""
        layer = layer_of(dbt_resource_props)
        if layer == "marts":
            return f"marts_{dbt_resource_props['fqn'][2]}"
        return layer

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        """Owners from ``meta.owner`` (an email or ``team:<name>``), else the analytics team."""
        meta = {**dbt_resource_props.get("config", {}).get("meta", {})}
        meta |= dbt_resource_props.get("meta", {})
        owner = meta.get("owner")
        if isinstance(owner, str) and ("@" in owner or owner.startswith("team:")):
            return [owner]
        return [DEFAULT_OWNER]

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        """The dbt tags, the rebuild rule, and the partition tag on the daily facts."""
        tags = dict(super().get_tags(dbt_resource_props))
        if dbt_resource_props["resource_type"] in ("model", "snapshot", "seed"):
            tags[REBUILD_TAG] = rebuild_rule(dbt_resource_props)
        if dbt_resource_props["resource_type"] == "model" and (
            dbt_resource_props["name"] in PARTITIONED_MODELS
        ):
            tags[PARTITION_TAG] = "daily"
        return tags

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        """Views on code change; cron reports on their cron; tables once (then the planner)."""
        rule = rebuild_rule(dbt_resource_props)
        if rule == ON_CRON:
            meta = dagster_meta(dbt_resource_props)
            return cron_condition(meta["cron"], meta.get("cron_timezone", "America/New_York"))
        if rule == ON_CODE:
            return view_condition()
        partitioned = dbt_resource_props["name"] in PARTITIONED_MODELS
        return planned_condition(None, is_partitioned=partitioned)
