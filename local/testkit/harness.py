"""Handles on a running local platform: waits and reads that tests and benchmarks share.

``LocalPlatform`` starts the processes; :class:`RunningPlatform` answers the questions asked of
them afterwards (what materialized since when, which runs, is everything quiet) by reading the
daemon's instance and the local Fivetran's admin API, never by sleeping for a fixed time.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
from dagster._core.instance.ref import InstanceRef
from devstack.environ import environ
from devstack.launcher import LocalPlatform

ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


@dataclass
class RunningPlatform:
    """Handles on a running platform and the waits tests need."""

    platform: LocalPlatform

    @property
    def info(self) -> dict[str, Any]:
        """The stack description (what ``stack.json`` holds)."""
        return self.platform.info

    @property
    def home(self) -> Path:
        """The platform's data directory."""
        return self.platform.home

    def instance(self) -> dg.DagsterInstance:
        """The daemon's instance, opened read-mostly from the test process."""
        return dg.DagsterInstance.from_ref(InstanceRef.from_dir(self.info["dagster_home"]))

    def fivetran(self) -> httpx.Client:
        """The local Fivetran API (``/v1/...`` and ``/admin/...``)."""
        base = self.info["fivetran_api_url"].removesuffix("/v1")
        auth = (self.info["fivetran_api_key"], self.info["fivetran_api_secret"])
        return httpx.Client(base_url=base, auth=auth, timeout=600)

    def connectors(self) -> list[str]:
        """Ids of every connector the local Fivetran knows."""
        with self.fivetran() as client:
            return [item["id"] for item in client.get("/v1/connectors").json()["data"]["items"]]

    def sync(self, *connector_ids: str) -> list[dict[str, Any]]:
        """Force syncs (together) and wait for them; returns their history entries."""
        with self.fivetran() as client:
            response = client.post(
                "/admin/syncs", json={"connector_ids": list(connector_ids), "wait": True}
            )
        response.raise_for_status()
        return response.json()["syncs"]

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a GraphQL query against the webserver; GraphQL errors fail loudly."""
        response = httpx.post(
            f"{self.info['dagster_url']}/graphql",
            json={"query": query, "variables": variables or {}},
            timeout=120,
        )
        response.raise_for_status()
        body = response.json()
        if "errors" in body:
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def env(self) -> dict[str, str]:
        """The environment the code location reads (to load the same definitions in-process)."""
        return self.platform.env()

    def runs_since(self, since: float) -> list[dg.DagsterRun]:
        """Runs created after ``since`` (epoch seconds)."""
        instance = self.instance()
        records = instance.get_run_records(filters=dg.RunsFilter(created_after=_utc(since)))
        return [record.dagster_run for record in records]

    def materializations_since(self, since: float) -> Counter[dg.AssetKey]:
        """How many times each asset materialized since ``since`` (epoch seconds)."""
        instance = self.instance()
        counts: Counter[dg.AssetKey] = Counter()
        for key in instance.get_asset_keys():
            result = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, after_timestamp=since), limit=1000
            )
            counts[key] += len(result.records)
        return +counts

    def built_since(self, since: float) -> Counter[dg.AssetKey]:
        """Materializations made by runs (dbt builds), without reported connector syncs."""
        return Counter(
            {
                key: n
                for key, n in self.materializations_since(since).items()
                if key.path[0] != "fivetran"
            }
        )

    def wait_quiet(self, quiet_s: float = 25.0, timeout_s: float = 900.0) -> None:
        """Wait until no sync runs, no run is active and nothing materialized for ``quiet_s``."""
        deadline = time.monotonic() + timeout_s
        instance = self.instance()
        last_change, last_seen = time.monotonic(), None
        while time.monotonic() < deadline:
            active = instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE))
            with self.fivetran() as client:
                idle = client.get("/admin/status").json().get("idle", False)
            newest = max(
                (
                    record.timestamp
                    for key in instance.get_asset_keys()
                    for record in instance.fetch_materializations(key, limit=1).records
                ),
                default=0.0,
            )
            state = (len(active), idle, newest)
            if state != last_seen or active or not idle:
                last_seen, last_change = state, time.monotonic()
            elif time.monotonic() - last_change >= quiet_s:
                return
            time.sleep(1.0)
        raise TimeoutError(f"the platform did not settle within {timeout_s}s ({self.logs()})")

    def wait_first_build(self, timeout_s: float = 1800.0) -> None:
        """Wait for automation's first build of every dbt asset, then for the platform to settle.

        Quiet alone is not enough: on a busy machine the daemon can take longer than any quiet
        period to load the code location and submit the first run.
        """
        built = [key for key, spec in load_specs(self.env()).items() if "dbt" in spec.kinds]
        instance = self.instance()
        self.wait_for(
            lambda: all(instance.get_latest_materialization_event(key) for key in built),
            timeout_s=timeout_s,
            what="the first build of every dbt asset",
        )
        self.wait_quiet(quiet_s=30, timeout_s=900)

    def manual_schedules(self) -> None:
        """Switch every connector to manual, so nothing syncs unless the caller forces it."""
        with self.fivetran() as client:
            for connector_id in self.connectors():
                client.patch(
                    f"/v1/connectors/{connector_id}", json={"schedule_type": "manual"}
                ).raise_for_status()

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
        """Poll ``predicate`` each second; fail naming ``what`` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(1.0)
        raise TimeoutError(f"timed out after {timeout_s}s waiting for {what} ({self.logs()})")

    def logs(self) -> str:
        """Where to look when something did not happen."""
        return f"logs in {self.home / 'logs'}"


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def load_specs(env: dict[str, str]) -> dict[dg.AssetKey, dg.AssetSpec]:
    """The code location's asset specs, loaded in this process with a platform's environment."""
    import importlib
    import warnings

    with environ(env), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = importlib.import_module("analytics_platform.definitions")
        defs = module.build_defs()
    return {spec.key: spec for spec in defs.resolve_all_asset_specs()}


def rebuilt_by(
    specs: dict[dg.AssetKey, dg.AssetSpec], changed: set[dg.AssetKey]
) -> set[dg.AssetKey]:
    """What a sync of ``changed`` must rebuild: the dbt tables downstream (views read live)."""
    children: dict[dg.AssetKey, set[dg.AssetKey]] = {}
    for spec in specs.values():
        for dep in spec.deps:
            children.setdefault(dep.asset_key, set()).add(spec.key)
    seen: set[dg.AssetKey] = set()
    frontier = list(changed)
    while frontier:
        for child in children.get(frontier.pop(), ()):
            if child not in seen:
                seen.add(child)
                frontier.append(child)
    return {key for key in seen if "dbt" in specs[key].kinds and specs[key].group_name != "staging"}
