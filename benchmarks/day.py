"""A day in the life: 24 simulated hours of the SDD's sync cadences under four strategies.

Issue #8. One invocation replays a day of syncs and measures, side by side, what the issue's
three ways of "running dbt after Fivetran" (and a stronger variant of the first) cost and
deliver:

* ``build_all``: build the whole dbt project after every sync (seeds ``000``/``001``: Fivetran's
  "run after a connector syncs", an Airbyte webhook per sync starting a flow);
* ``build_all_coalesced``: the same, once per tick after the tick's last sync: a stronger
  baseline than the seeds', reported beside them (not one of the issue's three);
* ``source_plus``: build ``source:<x>+`` for each synced connector, debounced (seed ``002``);
* ``automation``: this platform's declarative automation decides what to build.

What is real:

* The source estate (``local/standins/sources``: PostgreSQL Jobs DBs per tenant, the SaaS schemas,
  GPS batches, the targets sheet) and its change stream, advanced by the simulated minutes
  between ticks (``Estate.advance``).
* Every sync: the local Fivetran service (``local/standins/fivetran``) syncs each connector that is
  due at the tick, one after the other, into the warehouse (DuckDB), with Fivetran's
  semantics. Which tables a sync changed is measured as the platform measures it
  (``analytics_platform.ingest.observe.observe_connector``: ``_fivetran_synced`` watermarks,
  the Platform Connector's tables included).
* Every dbt invocation: a real ``dbt build`` of the strategy's selection into the strategy's
  own schemas, in process (``dbtRunner`` with the manifest parsed once, so the ~4 s of dbt
  start-up is not paid per run; the same for every strategy).
* Strategy ``automation``'s selection: the code location's real definitions
  (``analytics_platform.definitions.build_defs``). A tick's changed tables (the very
  materializations the webhook receiver would report) become one run of what the sync sensor
  selects for them (``analytics_platform.automation.sync_rebuilds``: the tables downstream,
  through the views, facts included); then the automation conditions are evaluated with
  ``dg.evaluate_automation_conditions`` over an instance that has received the reports and the
  run's materializations, and anything they still request is built too (nothing, when the
  two agree). Asset keys are translated to dbt node names and built with the platform's own
  arguments (``transform.partitions.dbt_build_args``).

What is simulated:

* The clock. Tick ``k`` is at ``k x 15`` simulated minutes; a sync starts when the previous
  one of the tick ended (the local Fivetran runs one sync at a time) and lasts its real
  duration. A dbt run starts at ``max(trigger, end of the strategy's previous run)`` and lasts
  its real wall time, so runs of one strategy queue as they would on one warehouse.
* The triggers. ``build_all`` runs once **per sync**, triggered when the sync ends (runs that
  find the strategy busy queue, one after the other, as transformations triggered per sync do
  on one warehouse). ``build_all_coalesced`` runs **once per tick, when the tick's last sync
  has landed**: syncs due at the same time are coalesced, as Fivetran's integrated scheduling
  can (a "junction" waits for the connectors synced together, then runs the transformation
  once: fivetran.com/docs/transformations/transformation-scheduling). ``source_plus`` fires
  ``SOURCE_PLUS_DEBOUNCE_S`` after a sync unless another sync ends first (a trailing debounce,
  blind to syncs in flight). ``automation`` is released
  as the webhook receiver's ``Debouncer`` releases it (held while a sync is in flight, then
  ``QUIET_S`` of quiet), and requested at the first ``automation__sync_sensor`` tick (every
  ``SENSOR_INTERVAL_S``) once the batch is ``SYNC_QUIET_S`` old. Dagster's run launches are
  not added (under the daemon a sync is one run, ~6 s from queued to started: ``bench
  latency`` measures that path; this replay compares what the strategies rebuild).
* Inputs. Syncs land once, in one warehouse; each strategy builds the project into schemas of
  its own there (dbt's ``ci`` target: ``ci_<strategy>_<layer>``, the same models, materializations
  and SQL as ``local``; only the schema names differ), so all of them read the very same raw
  tables and none pays for copies. Each strategy's schemas start from one whole-project build
  (untimed). The order in which the strategies react rotates from tick to tick, so none always
  runs on a warmer or busier machine.
* Tests. Data tests and unit tests are excluded from every invocation
  (``--exclude-resource-type test unit_test``): the comparison is what gets rebuilt, and the
  project's error tests (``assert_revenue_reconciles`` between QuickBooks syncs) would
  otherwise skip downstream models in every strategy alike.
* Freshness in the starting instance: every dbt asset, every partition of the partitioned facts
  (the history backfilled) and every connector table count as materialized at the start.

Figures per strategy (``<strategy>_...``): ``builds`` (dbt model and snapshot nodes built, from
the run results, views included), ``warehouse_s`` (sum of the nodes' ``execution_time``, seeds
included), ``latency_p50_s``/``latency_p95_s`` (per sync that changed data: from its end to the
end of the first run that started after it and rebuilt the last of the marts downstream of what
it changed), ``freshness_met`` (share of (mart, tick) checks where no change older than the
mart's fail window, from ``analytics_platform/freshness.py``, was still unreflected).

Run: ``uv run fieldforce bench day [--scale S]`` or
``uv run python -m benchmarks.day --hours 2`` (a short day while developing).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import math
import os
import secrets
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from devstack.environ import environ
from testkit.provenance import RESULTS_DIR, machine

from analytics_platform.automation import SYNC_QUIET_S, sync_selection

REPO = Path(__file__).resolve().parents[1]
PROJECT_DIR = REPO / "dbt_fieldforce"

DEFAULT_SCALE = 0.003
"""30 k jobs over the 90-day history: most syncs land rows (as at the SDD's volumes), and a
day of whole-project builds still fits the machine."""
DEFAULT_HOURS = 24.0
SEED = 42
TENANTS = 2
TICK_MIN = 15
"""The finest cadence of the SDD (the Jobs DB); every other cadence is a multiple of it."""
QUIET_S = 3.0
"""The webhook receiver's quiet period (``analytics_platform.ingest.webhook`` ``--quiet``)."""
SENSOR_INTERVAL_S = 5.0
"""How often a sensor can tick under the daemon: its loop runs at most every 5 s (Dagster's
``MIN_INTERVAL_LOOP_TIME``), so the sync sensor's 1 s minimum interval is a 5 s tick."""
SOURCE_PLUS_DEBOUNCE_S = QUIET_S
"""Strategy ``source_plus`` waits as long as the platform's receiver does, so the two differ in
what they select, not in how patient they are."""
THREADS = 2
STRATEGIES = ("build_all", "build_all_coalesced", "source_plus", "automation")
"""The issue's three, and the coalesced variant of build-all; the order of the figures."""
NO_TESTS = ("--exclude-resource-type", "test", "unit_test")
BUILT_TYPES = frozenset({"model", "snapshot"})
PLATFORM_SOURCE = "fivetran_metadata"
"""Every sync writes Fivetran's log/MAR/connection rows: ``source_plus`` selects their
downstream too, as a careful seed-002 user would (otherwise ``pipeline_status`` never rebuilds)."""
API_KEY = "bench-day"


# ---------------------------------------------------------------------------------------------
# Pure helpers (tests/unit/bench/test_day.py)
# ---------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in [0, 1]); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    k = (len(ordered) - 1) * q
    low, high = math.floor(k), math.ceil(k)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def due_connectors(frequencies: Mapping[str, int], minute: int) -> list[str]:
    """Connectors whose cadence (minutes) divides the simulated minute, in the given order."""
    return [cid for cid, every in frequencies.items() if every > 0 and minute % every == 0]


def debounce(ends: Sequence[float], quiet_s: float) -> list[list[int]]:
    """Trailing debounce: indices of events grouped while each follows the last within quiet_s.

    Each group fires ``quiet_s`` after its last event. ``ends`` must be in time order.
    """
    groups: list[list[int]] = []
    for index, end in enumerate(ends):
        if groups and end - ends[groups[-1][-1]] <= quiet_s:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def next_tick(t: float, interval: float) -> float:
    """The first sensor tick at or after ``t`` (ticks at multiples of ``interval``)."""
    return math.ceil(round(t / interval, 9)) * interval


def first_reflection(sync_end: float, builds: Sequence[tuple[float, float]]) -> float | None:
    """End of the first build that started after the sync ended (it read the sync's data)."""
    ends = [end for start, end in builds if start >= sync_end]
    return min(ends) if ends else None


def freshness_met(
    checks: Sequence[float], window_s: float, changes: Sequence[tuple[float, float | None]]
) -> int:
    """How many checks find the mart within its window.

    Args:
        checks: check times.
        window_s: the fail window.
        changes: ``(sync_end, reflected_at)`` for every sync that changed something the mart
            reads; ``reflected_at`` None when no build ever reflected it.

    A check at ``t`` fails when a change that ended more than ``window_s`` before ``t`` was not
    yet reflected at ``t``: the mart was then older than its SLA allows.
    """
    met = 0
    for t in checks:
        late = any(
            end <= t - window_s and (reflected is None or reflected > t)
            for end, reflected in changes
        )
        met += not late
    return met


def source_selectors(
    schemas: Sequence[str], sources: Mapping[str, str], prefixes: Mapping[str, str]
) -> list[str]:
    """The dbt sources a seed-002 handler selects for the synced connector schemas.

    Args:
        schemas: destination schemas of the synced connectors.
        sources: dbt source name -> its schema.
        prefixes: dbt source name -> tenant schema prefix (multi-tenant sources).
    """
    selected = {PLATFORM_SOURCE}
    for schema in schemas:
        for name, source_schema in sources.items():
            prefix = prefixes.get(name)
            if schema == source_schema or (prefix and schema.startswith(prefix)):
                selected.add(name)
    return sorted(selected)


# ---------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sync:
    """One connector's sync at one tick, on the simulated clock (seconds from the day's start)."""

    connector_id: str
    schema: str
    start_s: float
    end_s: float
    events: tuple[dg.AssetMaterialization, ...]
    """What the platform reports for it: one materialization per changed table."""

    @property
    def changed(self) -> frozenset[dg.AssetKey]:
        """The landed tables this sync changed."""
        return frozenset(event.asset_key for event in self.events)


@dataclass(frozen=True)
class Run:
    """One dbt invocation of one strategy."""

    trigger_s: float
    start_s: float
    end_s: float
    built: frozenset[dg.AssetKey]
    builds: int
    """Model and snapshot nodes built."""
    warehouse_s: float
    model_s: float
    wall_s: float
    failed: int
    selection: str


@dataclass(frozen=True)
class Invocation:
    """What one ``dbt build`` did."""

    wall_s: float
    nodes: tuple[tuple[str, str, str, float], ...]
    """``(unique_id, resource_type, status, execution_time)`` per node."""


# ---------------------------------------------------------------------------------------------
# dbt, in process
# ---------------------------------------------------------------------------------------------


def _dbt_env(warehouse: Path, schema: str) -> dict[str, str]:
    """The ``ci`` target: every model lands in ``ci_<schema>_<layer>`` of the given warehouse."""
    return {
        "FIELDFORCE_WAREHOUSE_PATH": str(warehouse),
        "DBT_TARGET": "ci",
        "DBT_CI_SCHEMA": schema,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


class Dbt:
    """dbt in this process for one strategy: the project parsed once, one ``build`` per run."""

    def __init__(self, work: Path, warehouse: Path, schema: str) -> None:
        """Parse the project into ``work/target`` (never the shared ``dbt_fieldforce/target``).

        The schema names are resolved at parse time, hence one parse per strategy.
        """
        from dbt.cli.main import dbtRunner

        self.flags = [
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
        ]
        self.env = _dbt_env(warehouse, schema)
        with environ(self.env):
            result = dbtRunner().invoke(["parse", "--quiet", *self.flags])
        if not result.success:
            raise RuntimeError(f"dbt parse failed: {result.exception}")
        self.manifest: dict[str, Any] = json.loads((work / "target" / "manifest.json").read_text())
        self._runner = dbtRunner(manifest=result.result)

    def build(self, args: Sequence[str]) -> Invocation:
        """Run ``dbt <args>`` (tests excluded); the node results and wall time."""
        from analytics_platform.transform.assets import release_embedded_warehouse

        argv = [
            *args,
            *NO_TESTS,
            "--threads",
            str(THREADS),
            "--quiet",
            "--log-level-file",
            "none",
            "--no-write-json",
            *self.flags,
        ]
        with environ(self.env):
            started = time.perf_counter()
            try:
                result = self._runner.invoke(argv)
            finally:
                wall = time.perf_counter() - started
                # dbt-duckdb keeps its DuckDB handle for the process: drop it, or the local
                # Fivetran (another process) could not open the warehouse for the next sync.
                release_embedded_warehouse()
        if result.exception is not None or result.result is None:
            raise RuntimeError(f"dbt {' '.join(args)} crashed: {result.exception}")
        nodes = tuple(
            (
                item.node.unique_id,
                str(item.node.resource_type),
                str(item.status),
                float(item.execution_time or 0.0),
            )
            for item in result.result.results
        )
        return Invocation(wall, nodes)

    def node_keys(self) -> dict[str, dg.AssetKey]:
        """unique_id -> asset key of every model, seed and snapshot (the platform's translator)."""
        from analytics_platform.transform.assets import translator

        return {
            unique_id: translator.get_asset_key(props)
            for unique_id, props in self.manifest["nodes"].items()
            if props["resource_type"] in ("model", "seed", "snapshot")
        }

    def sources(self) -> tuple[dict[str, str], dict[str, str]]:
        """Each dbt source's schema, and its tenant schema prefix where it has one."""
        schemas: dict[str, str] = {}
        prefixes: dict[str, str] = {}
        for props in self.manifest["sources"].values():
            name = props["source_name"]
            schemas[name] = props["schema"]
            prefix = (
                (props.get("source_meta") or {}).get("fieldforce", {}).get("tenant_schema_prefix")
            )
            if prefix:
                prefixes[name] = prefix
        return schemas, prefixes


# ---------------------------------------------------------------------------------------------
# The landing side: sources, the local Fivetran, the platform's change detection
# ---------------------------------------------------------------------------------------------


class Landing:
    """The source estate and the local Fivetran syncing into the warehouse."""

    def __init__(self, home: Path, scale: float, seed: int = SEED, tenants: int = TENANTS) -> None:
        """Nothing starts until :meth:`start`."""
        from standins.sources.estate import Estate

        self.home = home
        self.warehouse = home / "warehouse" / "warehouse.duckdb"
        self.estate = Estate(home, seed=seed, scale=scale, tenants=tenants)
        self.secret = secrets.token_hex(12)
        self.port = 0
        self.proc: Any = None
        self.state: dict[str, Any] = {}
        self.tables: dict[str, list[tuple[str, str]]] = {}
        self.connectors: dict[str, dict[str, Any]] = {}

    @property
    def api_url(self) -> str:
        """The local Fivetran's REST API root."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        """Generate the estate, start the service, switch every connector to manual, sync all."""
        from devstack.ports import free_port
        from standins.fivetran.service import start_service

        from analytics_platform.ingest.observe import (
            fetch_tables_by_connector,
            with_platform_tables,
        )

        self.estate.start()
        self.estate.generate()
        self.warehouse.parent.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc = start_service(
            self.home / "fivetran",
            self.port,
            API_KEY,
            self.secret,
            self.estate.connection_info(),
            self.warehouse,
            speed=1.0,
            log_path=self.home / "fivetran.log",
        )
        client = self.client()
        for group in client.get_groups()["items"]:
            for connector in client.list_connectors_for_group(group["id"]):
                self.connectors[connector["id"]] = connector
        with self.admin() as admin:
            # Nothing syncs on its own: the replay decides when each connector is due.
            for connector_id in self.connectors:
                admin.patch(
                    f"/v1/connectors/{connector_id}", json={"schedule_type": "manual"}
                ).raise_for_status()
            admin.post("/admin/syncs", json={"wait": True}).raise_for_status()
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

    def admin(self) -> Any:
        """An HTTP client for the local Fivetran's admin API (``/admin/...``)."""
        import httpx

        return httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}", auth=(API_KEY, self.secret), timeout=900
        )

    def frequencies(self) -> dict[str, int]:
        """Each connector's configured cadence in minutes (connectors.yaml, the SDD's)."""
        return {cid: int(c["sync_frequency"]) for cid, c in self.connectors.items()}

    def sync(self, connector_id: str) -> dict[str, Any]:
        """Force one connector's sync and wait for it; its history entry."""
        with self.admin() as admin:
            response = admin.post(
                "/admin/syncs", json={"connector_ids": [connector_id], "wait": True}
            )
        response.raise_for_status()
        entries = [e for e in response.json()["syncs"] if e["connector_id"] == connector_id]
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
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self.estate.stop()


# ---------------------------------------------------------------------------------------------
# The strategies
# ---------------------------------------------------------------------------------------------


@dataclass
class Strategy:
    """Schemas of its own, one dbt, and the runs it made (serialized, one at a time)."""

    name: str
    dbt: Dbt
    keys: Mapping[str, dg.AssetKey]
    runs: list[Run] = field(default_factory=list)
    busy_until: float = 0.0

    def execute(self, trigger_s: float, args: Sequence[str], selection: str) -> Run:
        """Run dbt now; place the run on the simulated clock after the strategy's last run."""
        invocation = self.dbt.build(args)
        start = max(trigger_s, self.busy_until)
        built = [
            (uid, kind, seconds)
            for uid, kind, status, seconds in invocation.nodes
            if status == "success" and uid in self.keys
        ]
        run = Run(
            trigger_s=trigger_s,
            start_s=start,
            end_s=start + invocation.wall_s,
            built=frozenset(self.keys[uid] for uid, _, _ in built),
            builds=sum(kind in BUILT_TYPES for _, kind, _ in built),
            warehouse_s=sum(seconds for _, _, _, seconds in invocation.nodes),
            model_s=sum(secs for _, kind, secs in built if kind in BUILT_TYPES),
            wall_s=invocation.wall_s,
            failed=sum(status == "error" for _, _, status, _ in invocation.nodes),
            selection=selection,
        )
        self.busy_until = run.end_s
        self.runs.append(run)
        return run

    def react(self, syncs: Sequence[Sync]) -> None:
        """Do what the strategy does after one tick's syncs."""
        raise NotImplementedError


class BuildAll(Strategy):
    """Seeds 000/001: the whole project after every sync."""

    def react(self, syncs: Sequence[Sync]) -> None:
        """One whole-project build per sync, triggered as it ends (queued while busy)."""
        for sync in syncs:
            self.execute(sync.end_s, ["build"], "(all)")


class BuildAllCoalesced(Strategy):
    """Seeds 000/001, made stronger: the whole project once per tick (see docstring)."""

    def react(self, syncs: Sequence[Sync]) -> None:
        """One whole-project build once the tick's last sync has landed."""
        if syncs:
            self.execute(max(s.end_s for s in syncs), ["build"], "(all)")


@dataclass
class SourcePlus(Strategy):
    """Seed 002: ``dbt build --select source:<x>+`` per synced connector, debounced."""

    sources: Mapping[str, str] = field(default_factory=dict)
    prefixes: Mapping[str, str] = field(default_factory=dict)

    def react(self, syncs: Sequence[Sync]) -> None:
        """One build per debounce group, selecting the groups' sources' downstream."""
        for group in debounce([s.end_s for s in syncs], SOURCE_PLUS_DEBOUNCE_S):
            names = source_selectors([syncs[i].schema for i in group], self.sources, self.prefixes)
            selection = " ".join(f"source:{name}+" for name in names)
            trigger = syncs[group[-1]].end_s + SOURCE_PLUS_DEBOUNCE_S
            self.execute(trigger, ["build", "--select", selection], selection)


@dataclass
class Automation(Strategy):
    """The platform: the sync sensor's one run per batch, then its automation conditions."""

    defs: dg.Definitions | None = None
    instance: dg.DagsterInstance | None = None
    day_start: datetime = datetime(2026, 4, 1, tzinfo=UTC)
    names: Mapping[dg.AssetKey, str] = field(default_factory=dict)
    partitioned: Mapping[dg.AssetKey, dg.PartitionsDefinition] = field(default_factory=dict)
    rebuilds: Mapping[dg.AssetKey, frozenset[dg.AssetKey]] = field(default_factory=dict)
    """The sync sensor's map: connector table -> what a sync of it rebuilds."""
    cursor: Any = None
    evaluations: list[float] = field(default_factory=list)

    def start(self, materialized: Sequence[dg.AssetKey]) -> int:
        """Everything built and landed before the day; the first evaluation. Requests made."""
        assert self.instance is not None
        for key in materialized:
            partitions = self.partitioned.get(key)
            if partitions is None:
                self.instance.report_runless_asset_event(dg.AssetMaterialization(key))
                continue
            for partition in partitions.get_partition_keys(current_time=self.day_start):
                self.instance.report_runless_asset_event(
                    dg.AssetMaterialization(key, partition=partition)
                )
        requested, _ = self._evaluate(0.0)
        return len(requested)

    def _at(self, at_s: float) -> datetime:
        return self.day_start + timedelta(seconds=at_s)

    def _build(self, at_s: float, requested: Mapping[dg.AssetKey, set[str]]) -> Run:
        """One run of the requested assets; their materializations go to the instance."""
        from analytics_platform.transform.partitions import dbt_build_args

        assert self.instance is not None
        selection = " ".join(sorted(self.names[key] for key in requested))
        run = self.execute(at_s, dbt_build_args(select=selection), selection)
        for key in run.built:
            if key in self.partitioned:
                for partition in sorted(requested.get(key, ())):
                    self.instance.report_runless_asset_event(
                        dg.AssetMaterialization(key, partition=partition)
                    )
            else:
                self.instance.report_runless_asset_event(dg.AssetMaterialization(key))
        return run

    def _evaluate(self, at_s: float) -> tuple[dict[dg.AssetKey, set[str]], float]:
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = dg.evaluate_automation_conditions(
                defs=self.defs,  # type: ignore[arg-type]
                instance=self.instance,  # type: ignore[arg-type]
                evaluation_time=self._at(at_s),
                cursor=self.cursor,
            )
        wall = time.perf_counter() - started
        self.evaluations.append(wall)
        self.cursor = result.cursor
        requested = {
            key: set(result.get_requested_partitions(key)) - {None}
            for key in self.names
            if result.get_num_requested(key)
        }
        return requested, wall  # type: ignore[return-value]

    def react(self, syncs: Sequence[Sync]) -> None:
        """Report the changed tables; the sync sensor's one run; then the conditions, if asked."""
        assert self.instance is not None
        for sync in syncs:
            for event in sync.events:
                self.instance.report_runless_asset_event(event)
        if not syncs:
            return
        # The receiver holds reports while a sync is in flight (the service runs the tick's
        # syncs back to back), then for QUIET_S of quiet; the sync sensor acts on the batch
        # at its first tick once the batch is SYNC_QUIET_S old.
        released = max(s.end_s for s in syncs) + QUIET_S
        at = next_tick(released + SYNC_QUIET_S, SENSOR_INTERVAL_S)
        landed = {
            event.asset_key
            for sync in syncs
            for event in sync.events
            if isinstance(event, dg.AssetMaterialization)
        }
        selection = sync_selection(self.rebuilds, landed)
        if selection:
            latest = {
                key: {self.partitioned[key].get_partition_keys(current_time=self._at(at))[-1]}
                for key in selection
                if key in self.partitioned
            }
            run = self._build(at, {key: latest.get(key, set()) for key in selection})
            at = next_tick(run.end_s, SENSOR_INTERVAL_S)
        # The condition sensor sees the run's materializations: it must ask for nothing more
        # (a request here is a second build of what the sync run just built).
        for _wave in range(10):
            requested, wall = self._evaluate(at)
            if not requested:
                return
            run = self._build(at + wall, requested)
            at = next_tick(run.end_s, SENSOR_INTERVAL_S)
        raise RuntimeError("automation kept requesting runs after 10 waves")


# ---------------------------------------------------------------------------------------------
# The code location
# ---------------------------------------------------------------------------------------------


def load_definitions(env: Mapping[str, str]) -> dg.Definitions:
    """The code location's definitions, built in this process against ``env``."""
    fresh = "analytics_platform.definitions" not in sys.modules
    with environ(env), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = importlib.import_module("analytics_platform.definitions")
        # A first import has just built them with this environment; otherwise build again.
        return module.defs if fresh else module.build_defs()


# ---------------------------------------------------------------------------------------------
# Accounting
# ---------------------------------------------------------------------------------------------


def summarize(
    name: str,
    runs: Sequence[Run],
    syncs: Sequence[Sync],
    affected: Mapping[int, set[dg.AssetKey]],
    windows: Mapping[dg.AssetKey, float],
    checks: Sequence[float],
    end_s: float,
) -> dict[str, Any]:
    """The figures of one strategy over the day (see the module docstring)."""
    builds_of: dict[dg.AssetKey, list[tuple[float, float]]] = {}
    for run in runs:
        for key in run.built:
            builds_of.setdefault(key, []).append((run.start_s, run.end_s))
    latencies: list[float] = []
    unreflected = 0
    changes_of: dict[dg.AssetKey, list[tuple[float, float | None]]] = {}
    for index, sync in enumerate(syncs):
        marts = affected.get(index, set())
        if not marts:
            continue
        worst = 0.0
        for mart in marts:
            reflected = first_reflection(sync.end_s, builds_of.get(mart, []))
            changes_of.setdefault(mart, []).append((sync.end_s, reflected))
            if reflected is None:
                unreflected += 1
                reflected = end_s
            worst = max(worst, reflected - sync.end_s)
        latencies.append(worst)
    met = sum(
        freshness_met(checks, window, changes_of.get(mart, [])) for mart, window in windows.items()
    )
    total = len(checks) * len(windows)
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    return {
        f"{name}_builds": sum(run.builds for run in runs),
        f"{name}_warehouse_s": round(sum(run.warehouse_s for run in runs), 2),
        f"{name}_latency_p50_s": round(p50, 2) if p50 is not None else None,
        f"{name}_latency_p95_s": round(p95, 2) if p95 is not None else None,
        f"{name}_freshness_met": round(met / total, 4) if total else None,
        f"{name}_runs": len(runs),
        f"{name}_model_s": round(sum(run.model_s for run in runs), 2),
        f"{name}_dbt_wall_s": round(sum(run.wall_s for run in runs), 2),
        f"{name}_latency_max_s": round(max(latencies), 2) if latencies else None,
        f"{name}_failed_nodes": sum(run.failed for run in runs),
        f"{name}_unreflected": unreflected,
    }


# ---------------------------------------------------------------------------------------------
# The replay
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _timed(phases: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        phases[name] = phases.get(name, 0.0) + time.perf_counter() - started


def _clock(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def run(
    out_dir: Path | str = RESULTS_DIR,
    scale: float = DEFAULT_SCALE,
    hours: float = DEFAULT_HOURS,
    keep: bool = False,
) -> dict[str, Any]:
    """Replay ``hours`` simulated hours under the strategies; the figures (CLI writes JSON).

    Args:
        out_dir: where ``day.json`` goes when run as a script (the CLI writes it itself).
        scale: size of the source estate (1.0 = the SDD's volumes).
        hours: simulated hours to replay (24 = the issue's day).
        keep: keep the data directory (sources, warehouses, logs) for inspection.
    """
    from testkit.harness import rebuilt_by

    from analytics_platform.automation import sync_rebuilds

    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    # One line per asset per evaluation otherwise (the tester logs at debug level).
    logging.getLogger("dagster.automation_condition_tester").setLevel(logging.WARNING)
    ticks = round(hours * 60 / TICK_MIN)
    home = Path(tempfile.mkdtemp(prefix="bench-day-", dir="/tmp"))
    home.chmod(0o711)  # PostgreSQL runs as its own account and must traverse it
    landing = Landing(home, scale)
    try:
        print(f"  day: sources at scale {scale}, initial syncs ...", flush=True)
        landing.start()
        dbts: dict[str, Dbt] = {}
        for name in STRATEGIES:
            print(f"  day: {name}: dbt parse, first whole build (untimed) ...", flush=True)
            dbts[name] = Dbt(home / "dbt" / name, landing.warehouse, name)
            first = dbts[name].build(["build"])
            if any(status == "error" for _, _, status, _ in first.nodes):
                raise RuntimeError(f"the first whole-project build of {name} failed")
        print("  day: loading the code location ...", flush=True)
        defs = load_definitions(landing.env())
        specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
        keys = dbts[STRATEGIES[0]].node_keys()
        names = {key: unique_id.split(".")[-1] for unique_id, key in keys.items()}
        if len(set(names.values())) != len(names):
            raise RuntimeError("dbt node names are not unique: cannot select by name")
        marts = {key for key, spec in specs.items() if (spec.group_name or "").startswith("marts_")}
        windows = {
            key: spec.freshness_policy.fail_window.to_timedelta().total_seconds()  # type: ignore[union-attr]
            for key, spec in specs.items()
            if key in marts and spec.freshness_policy is not None
        }
        sources, prefixes = dbts[STRATEGIES[0]].sources()
        strategies: list[Strategy] = []
        for name in STRATEGIES:
            dbt = dbts[name]
            if name == "build_all":
                strategies.append(BuildAll(name, dbt, keys))
            elif name == "build_all_coalesced":
                strategies.append(BuildAllCoalesced(name, dbt, keys))
            elif name == "source_plus":
                strategies.append(SourcePlus(name, dbt, keys, sources=sources, prefixes=prefixes))
            else:
                day_start = landing.estate.clock
                automation = Automation(
                    name,
                    dbt,
                    keys,
                    defs=defs,
                    instance=dg.DagsterInstance.ephemeral(),
                    day_start=day_start,
                    names=names,
                    partitioned={
                        key: spec.partitions_def
                        for key, spec in specs.items()
                        if spec.partitions_def is not None and key in names
                    },
                    rebuilds=sync_rebuilds(specs.values()),
                )
                landed = [key for key in specs if key.path[0] == "fivetran"]
                if automation.start([*names, *landed]):
                    raise RuntimeError("automation asked for runs on a fully built warehouse")
                strategies.append(automation)
        frequencies = landing.frequencies()
        schemas = {cid: c["schema"] for cid, c in landing.connectors.items()}
        syncs: list[Sync] = []
        setup_s = time.perf_counter() - began
        print(f"  day: replaying {ticks} ticks of {TICK_MIN} min ...", flush=True)
        phases: dict[str, float] = dict.fromkeys(("advance", "sync", "observe"), 0.0)
        for tick in range(1, ticks + 1):
            minute = tick * TICK_MIN
            with _timed(phases, "advance"):
                landing.estate.advance(TICK_MIN)
            at = tick * TICK_MIN * 60.0
            tick_syncs: list[Sync] = []
            for connector_id in due_connectors(frequencies, minute):
                with _timed(phases, "sync"):
                    entry = landing.sync(connector_id)
                end = at + float(entry["duration_s"])
                with _timed(phases, "observe"):
                    events = landing.observe(connector_id)
                tick_syncs.append(Sync(connector_id, schemas[connector_id], at, end, events))
                at = end
            shift = tick % len(strategies)
            for strategy in strategies[shift:] + strategies[:shift]:
                with _timed(phases, strategy.name):
                    strategy.react(tick_syncs)
            syncs += tick_syncs
            if minute % 60 == 0 or tick == ticks:
                status = "  ".join(f"{s.name} {sum(r.builds for r in s.runs)}" for s in strategies)
                print(
                    f"  day {_clock(minute * 60)}  syncs {len(syncs)}  builds: {status}"
                    f"  ({time.perf_counter() - began:.0f} s)",
                    flush=True,
                )
        end_s = (ticks + 1) * TICK_MIN * 60.0
        checks = [tick * TICK_MIN * 60.0 for tick in range(1, ticks + 2)]
        affected = {
            index: {key for key in rebuilt_by(specs, set(sync.changed)) if key in marts}
            for index, sync in enumerate(syncs)
        }
        result: dict[str, Any] = {}
        for strategy in strategies:
            result |= summarize(
                strategy.name, strategy.runs, syncs, affected, windows, checks, end_s
            )
        automation_strategy = strategies[-1]
        assert isinstance(automation_strategy, Automation)
        result |= {
            "hours": hours,
            "ticks": ticks,
            "tenants": TENANTS,
            "seed": SEED,
            "syncs": len(syncs),
            "syncs_with_changes": sum(bool(s.events) for s in syncs),
            "syncs_affecting_marts": sum(bool(m) for m in affected.values()),
            "build_all_trigger": "once per sync, as it ends (queued while a run is busy)",
            "build_all_coalesced_trigger": "once per tick, after the tick's last sync",
            "source_plus_debounce_s": SOURCE_PLUS_DEBOUNCE_S,
            "automation_quiet_s": QUIET_S,
            "automation_sensor_interval_s": SENSOR_INTERVAL_S,
            "automation_evaluation_p50_s": round(
                percentile(automation_strategy.evaluations, 0.5) or 0.0, 2
            ),
            "marts_with_windows": len(windows),
            "freshness_checks": len(checks) * len(windows),
            "dbt_threads": THREADS,
            "dbt_target": "ci",
            "load_average_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],
            "tests_excluded": True,
            "setup_s": round(setup_s, 1),
            "replay_phases_s": {name: round(seconds, 1) for name, seconds in phases.items()},
            "runtime_s": round(time.perf_counter() - began, 1),
            "scale": scale,
            "machine": machine(),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        automation_builds = result["automation_builds"]
        for baseline in STRATEGIES[:-1]:
            builds = result[f"{baseline}_builds"]
            result[f"automation_vs_{baseline}_builds"] = (
                round(automation_builds / builds, 4) if builds else None
            )
        return result
    finally:
        landing.stop()
        if keep:
            print(f"  day: data kept in {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    """Command-line entry point: ``python -m benchmarks.day [--scale S] [--hours H]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=DEFAULT_SCALE)
    parser.add_argument("--hours", type=float, default=DEFAULT_HOURS)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args()
    result = run(args.out, args.scale, args.hours, args.keep)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "day.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    width = max(map(len, result))
    for key, value in sorted(result.items()):
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
