"""Handles on a running local platform: waits and reads that tests and benchmarks share.

``LocalPlatform`` starts the processes; :class:`RunningPlatform` answers the questions asked of
them afterwards (what materialized since when, which runs, has everything settled) by reading
the daemon's instance and the local Fivetran's admin API, never by sleeping for a fixed time.

"Nothing else happened" is an event too: :meth:`RunningPlatform.wait_settled` waits until every
sensor that can request a run has evaluated the settled platform and declined, read from the
sensors' tick log, so a test that asserts "built exactly once" asserts it after the evaluations
that could have built it again.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
from dagster._core.execution.backfill import BulkActionsFilter, BulkActionStatus
from dagster._core.instance.ref import InstanceRef
from dagster._core.scheduler.instigation import InstigatorTick, InstigatorType, TickStatus
from devstack.environ import environ
from devstack.launcher import DAEMON, LocalPlatform

from analytics_platform.automation.policy import Cron, Eager, Freshness, policy_of

ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
UNFINISHED_BACKFILLS = [BulkActionStatus.REQUESTED, BulkActionStatus.CANCELING]

SETTLE_TICKS = 2
"""Declining evaluations each run-requesting sensor makes of the settled platform.

One evaluation that starts after the last change has seen it; the second leaves no doubt that
the first was not reading the event log a moment before the change was committed.
"""
POLL_S = 1.0
"""Between two reads of the instance while waiting."""


@dataclass(frozen=True)
class Settled:
    """What :meth:`RunningPlatform.wait_settled` saw when it returned."""

    changed_at: float
    """The last change: newest event, run end or the moment the local Fivetran went idle."""
    ticks: dict[str, list[InstigatorTick]]
    """Per run-requesting sensor, its completed ticks since ``changed_at`` (none asked for a run)."""


@dataclass
class RunningPlatform:
    """Handles on a running platform and the waits tests need."""

    platform: LocalPlatform
    _sensor_names: list[str] | None = field(default=None, init=False, repr=False)

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
        """Wait until no sync runs, no run is active and nothing materialized for ``quiet_s``.

        A quiet *period*, for callers that want one (spacing syncs apart); to know that nothing
        more will happen, :meth:`wait_settled` reads the sensors' decisions instead.
        """
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

    def wait_settled(
        self, after: float = 0.0, ticks: int = SETTLE_TICKS, timeout_s: float = 900.0
    ) -> Settled:
        """Wait until nothing runs and every sensor that can request a run declined ``ticks`` times.

        Settled means: no run is queued or running, no backfill is unfinished, the local
        Fivetran is idle (no sync, no webhook in flight), and each run-requesting sensor has
        completed ``ticks`` evaluations that started after the last change (newest asset
        event, run end, the moment Fivetran went idle, or ``after``), none of which requested a
        run. A tick that did request one is a run on its way, so the wait goes on past it.

        Args:
            after: a change the caller knows of and the instance cannot show (epoch seconds),
                such as a webhook it posted.
            ticks: declining evaluations required of each sensor.
            timeout_s: fail (naming the logs) if the platform has not settled by then.
        """
        deadline = time.monotonic() + timeout_s
        instance = self.instance()
        sensors = self.run_requesting_sensors()
        idle_since: float | None = None
        seen = "a run, a backfill or a sync still in progress"
        while time.monotonic() < deadline:
            if not self._idle(instance):
                idle_since, seen = None, "a run, a backfill or a sync still in progress"
                time.sleep(POLL_S)
                continue
            idle_since = idle_since or time.time()
            changed_at = max(after, idle_since, _last_change(instance))
            since = _ticks_since(instance, sensors, changed_at)
            completed = {
                name: [tick for tick in found if tick.status != TickStatus.STARTED]
                for name, found in since.items()
            }
            requested = any(tick.run_ids for found in completed.values() for tick in found)
            declined = all(
                sum(tick.status in (TickStatus.SKIPPED, TickStatus.SUCCESS) for tick in found)
                >= ticks
                for found in completed.values()
            )
            if declined and not requested:
                return Settled(changed_at, completed)
            seen = "ticks since the last change: " + ", ".join(
                f"{name} {[tick.status.value for tick in found]}"
                for name, found in completed.items()
            )
            time.sleep(POLL_S)
        raise TimeoutError(
            f"the platform did not settle within {timeout_s}s ({seen}; {self.logs()})"
        )

    def run_requesting_sensors(self) -> list[str]:
        """Names of the code location's sensors that target assets or jobs (can start runs)."""
        if self._sensor_names is None:
            self._sensor_names = sorted(
                sensor.name
                for sensor in load_defs(self.env()).sensors or ()
                if sensor.targets or getattr(sensor, "asset_selection", None) is not None
            )
        return self._sensor_names

    def _idle(self, instance: dg.DagsterInstance) -> bool:
        """No active run, no unfinished backfill and an idle local Fivetran."""
        if instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE), limit=1):
            return False
        unfinished = BulkActionsFilter(statuses=UNFINISHED_BACKFILLS)
        if instance.get_backfills(filters=unfinished, limit=1):
            return False
        with self.fivetran() as client:
            return bool(client.get("/admin/status").json().get("idle", False))

    def wait_first_build(self, timeout_s: float = 1800.0) -> None:
        """Wait for automation's first build of every dbt asset, then for the platform to settle.

        Settling alone is not enough: on a busy machine the daemon can take longer to load the
        code location and submit the first run than its sensors take to tick twice.
        """
        built = [key for key, spec in load_specs(self.env()).items() if "dbt" in spec.kinds]
        instance = self.instance()
        self.wait_for(
            lambda: all(instance.get_latest_materialization_event(key) for key in built),
            timeout_s=timeout_s,
            what="the first build of every dbt asset",
        )
        self.wait_settled(timeout_s=900)

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

    def kill_daemon(self) -> None:
        """``kill -9`` the Dagster daemon alone (its code server and run workers live on)."""
        [daemon] = [
            child
            for child in self.platform.supervisor.children
            if child.name == DAEMON and child.popen.poll() is None
        ]
        os.kill(daemon.popen.pid, signal.SIGKILL)
        daemon.popen.wait(timeout=30)

    def restart_daemon(self) -> None:
        """Start the daemon again after :meth:`kill_daemon`, as the platform first started it."""
        self.platform.start_daemon()

    def logs(self) -> str:
        """Where to look when something did not happen."""
        return f"logs in {self.home / 'logs'}"


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _last_change(instance: dg.DagsterInstance) -> float:
    """The newest asset event (materialization or observation) or run end, epoch seconds."""
    events = [
        record.timestamp
        for asset in instance.get_asset_records()
        for record in (
            asset.asset_entry.last_materialization_record,
            asset.asset_entry.last_observation_record,
        )
        if record is not None
    ]
    # Newest runs first; with nothing active, the last to end is among the last created.
    runs = [
        run.end_time or run.update_timestamp.timestamp()
        for run in instance.get_run_records(limit=20)
    ]
    return max(events + runs, default=0.0)


def _ticks_since(
    instance: dg.DagsterInstance, sensors: list[str], since: float
) -> dict[str, list[InstigatorTick]]:
    """Each named sensor's ticks that started after ``since`` (a sensor not ticked yet: none)."""
    states = {
        state.instigator_name: state
        for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
    }
    found: dict[str, list[InstigatorTick]] = {}
    for name in sensors:
        state = states.get(name)
        found[name] = (
            list(instance.get_ticks(state.instigator_origin_id, state.selector_id, after=since))
            if state is not None
            else []
        )
    return found


def load_defs(env: dict[str, str]) -> dg.Definitions:
    """The code location's definitions, built in this process with a platform's environment."""
    import importlib
    import warnings

    with environ(env), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = importlib.import_module("analytics_platform.definitions")
        return module.build_defs()


def load_specs(env: dict[str, str]) -> dict[dg.AssetKey, dg.AssetSpec]:
    """The code location's asset specs, loaded in this process with a platform's environment."""
    return {spec.key: spec for spec in load_defs(env).resolve_all_asset_specs()}


def rebuilt_by(
    specs: dict[dg.AssetKey, dg.AssetSpec], changed: set[dg.AssetKey]
) -> set[dg.AssetKey]:
    """What a sync of ``changed`` must rebuild: the dbt tables downstream (views read live).

    Not a report on a cron (its cron builds it), nor a table with no policy of its own that
    nothing rebuilt reads (the planner builds an on-demand table for a reader that is due).
    """
    children: dict[dg.AssetKey, set[dg.AssetKey]] = {}
    for spec in specs.values():
        for dep in spec.deps:
            children.setdefault(dep.asset_key, set()).add(spec.key)

    def downstream(roots: set[dg.AssetKey]) -> set[dg.AssetKey]:
        seen: set[dg.AssetKey] = set()
        frontier = list(roots)
        while frontier:
            for child in children.get(frontier.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    frontier.append(child)
        return seen

    tables = {
        key
        for key in downstream(changed)
        if "dbt" in specs[key].kinds
        and specs[key].group_name != "staging"
        and not isinstance(policy_of(specs[key]), Cron)
    }
    with_sla = {key for key in tables if isinstance(policy_of(specs[key]), Eager | Freshness)}
    return {key for key in tables if key in with_sla or downstream({key}) & with_sla}
