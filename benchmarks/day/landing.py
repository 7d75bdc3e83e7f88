"""The landing side of the day: the source estate, the local Fivetran, change detection.

Real, not simulated: the estate (PostgreSQL Jobs DBs per tenant, the SaaS schemas, GPS
batches, the targets sheet) and its change stream advance by the simulated minutes between
ticks; the local Fivetran syncs each due connector, one after the other, into the warehouse
(DuckDB) with Fivetran's semantics; and which tables a sync changed is measured as the
platform measures it (``analytics_platform.ingest.observe.observe_connector``:
``_fivetran_synced`` watermarks, the Platform Connector's tables included).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import dagster as dg
from testkit.builder import EstateSources, FivetranOptions, Stack, build_stack

SEED = 42
TENANTS = 2
API_KEY = "bench-day"
SYNC_TIMEOUT_S = 900.0
"""How long one forced sync may take before the replay gives up."""


class Landing:
    """The source estate and the local Fivetran syncing into the warehouse."""

    def __init__(self, home: Path, scale: float, seed: int = SEED, tenants: int = TENANTS) -> None:
        """Nothing starts until :meth:`start`."""
        self.home = home
        self.warehouse = home / "warehouse" / "warehouse.duckdb"
        self.sources = EstateSources(home=home, seed=seed, scale=scale, tenants=tenants)
        self.secret = secrets.token_hex(12)
        self.stack: Stack | None = None
        self.state: dict[str, Any] = {}
        self.tables: dict[str, list[tuple[str, str]]] = {}
        self.connectors: dict[str, dict[str, Any]] = {}

    @property
    def running(self) -> Stack:
        """The stack :meth:`start` built."""
        if self.stack is None:
            raise RuntimeError("the landing side is not started")
        return self.stack

    @property
    def estate(self) -> Any:
        """The source estate (``standins.sources.estate.Estate``) the stack started."""
        return self.running.estate

    @property
    def api_url(self) -> str:
        """The local Fivetran's REST API root."""
        return self.running.api_url

    def start(self) -> None:
        """Generate the estate, start the service, switch every connector to manual, sync all."""
        from analytics_platform.ingest.observe import (
            fetch_tables_by_connector,
            with_platform_tables,
        )

        # Nothing syncs on its own: the replay decides when each connector is due.
        self.stack = build_stack(
            self.home,
            self.sources,
            fivetran=FivetranOptions(
                api_key=API_KEY, api_secret=self.secret, log_path=self.home / "fivetran.log"
            ),
            warehouse=self.warehouse,
            first_sync="forced",
            manual_schedules=True,
        )
        client = self.client()
        for group in client.get_groups()["items"]:
            for connector in client.list_connectors_for_group(group["id"]):
                self.connectors[connector["id"]] = connector
        self.tables = with_platform_tables(fetch_tables_by_connector(client))
        for connector_id in self.connectors:
            self.observe(connector_id)  # the initial syncs set the watermarks

    def client(self) -> Any:
        """The platform's dagster-fivetran client, pointed at the local Fivetran."""
        from analytics_platform.ingest.fivetran import ConfigurableFivetranWorkspace

        workspace = ConfigurableFivetranWorkspace(
            account_id="fieldforce",
            api_key=API_KEY,
            api_secret=self.secret,
            api_base_url=self.api_url,
        )
        return workspace.get_client()

    def frequencies(self) -> dict[str, int]:
        """Each connector's configured cadence in minutes (connectors.yaml)."""
        return {cid: int(c["sync_frequency"]) for cid, c in self.connectors.items()}

    def sync(self, connector_id: str) -> dict[str, Any]:
        """Force one connector's sync and wait for it; its history entry."""
        synced = self.running.sync(connector_id, timeout=SYNC_TIMEOUT_S)
        entries = [e for e in synced if e["connector_id"] == connector_id]
        if not entries or entries[-1]["status"] != "SUCCESSFUL":
            raise RuntimeError(f"sync of {connector_id} failed: {entries}")
        return entries[-1]

    def observe(self, connector_id: str) -> tuple[dg.AssetMaterialization, ...]:
        """What the webhook receiver reports for the connector's last sync (changed tables)."""
        import duckdb

        from analytics_platform.ingest.observe import observe_connector

        details = self.client().get_connector_details(connector_id)
        connection = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            events = observe_connector(
                connection, connector_id, details, self.tables[connector_id], self.state
            )
        finally:
            connection.close()
        return tuple(e for e in events if isinstance(e, dg.AssetMaterialization))

    def env(self) -> dict[str, str]:
        """What the code location reads to load against this landing side."""
        return {
            "ENVIRONMENT": "local",
            "FIVETRAN_MODE": "webhook",
            "FIELDFORCE_HOME": str(self.home),
            "FIELDFORCE_WAREHOUSE_PATH": str(self.warehouse),
            "FIVETRAN_API_BASE_URL": self.api_url,
            "FIVETRAN_API_KEY": API_KEY,
            "FIVETRAN_API_SECRET": self.secret,
        }

    def stop(self) -> None:
        """Stop the service and PostgreSQL (only what this object started)."""
        if self.stack is not None:
            self.stack.close()
            self.stack = None
