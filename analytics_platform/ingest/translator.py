"""How Fivetran connector tables become Dagster assets.

Keys are ``fivetran/<schema>/<table>``, the same keys the dbt sources declare in
``meta.dagster.asset_key``, so sync → dbt lineage needs no code. Groups are
``ingest_<connector>``.
"""

from __future__ import annotations

import dagster as dg
from dagster_fivetran import DagsterFivetranTranslator
from dagster_fivetran.translator import FivetranConnectorTableProps

from analytics_platform.settings import clean_group_name


class FieldForceFivetranTranslator(DagsterFivetranTranslator):
    """``fivetran/<schema>/<table>`` keys, ``ingest_<connector>`` groups, data-platform owner."""

    def get_asset_spec(self, props: FivetranConnectorTableProps) -> dg.AssetSpec:
        """The library's spec, re-keyed and re-grouped; its metadata is kept."""
        spec = super().get_asset_spec(props)
        schema, table = props.table.split(".")
        return spec.replace_attributes(
            key=dg.AssetKey(["fivetran", schema, table]),
            group_name=f"ingest_{clean_group_name(props.connector_name)}",
            owners=["team:data-platform"],
            skippable=True,
        )
