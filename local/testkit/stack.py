"""Helpers for the local-Fivetran tests: a running service over private sources, and
the expectations a landed warehouse must meet (Fivetran's semantics, no clear PII).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import duckdb
import httpx
import psycopg
import pytest
import yaml
from psycopg import sql
from standins.fivetran import minisource
from standins.fivetran.config import DEFAULT_CONNECTORS_YAML, SourceSettings, load_account
from standins.fivetran.service import start_service
from standins.sources import catalog
from standins.sources.postgres import PostgresCluster, free_port

API_KEY = "test-key"
API_SECRET = "test-secret"
SALT = yaml.safe_load(DEFAULT_CONNECTORS_YAML.read_text())["hash_salt"]
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    # PostgreSQL runs as an unprivileged account when we are root, and pytest's tmp dirs are
    # private (0700): the cluster lives in its own traversable temp dir instead.
    root = Path(tempfile.mkdtemp(prefix="fivetran-pg-"))
    root.chmod(0o711)
    cluster = PostgresCluster(root / "pg").start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Stack:
    """One running service and its sources."""

    home: Path
    port: int
    warehouse: Path
    jobs_dsns: dict[str, str]
    saas_dsn: str
    telematics_dir: Path
    sheets_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, auth=(API_KEY, API_SECRET), timeout=120)

    def sources(self) -> dict[str, Any]:
        return {
            "jobs_db_dsns": self.jobs_dsns,
            "saas_dsn": self.saas_dsn,
            "telematics_dir": str(self.telematics_dir),
            "sheets_dir": str(self.sheets_dir),
        }

    def start(self, speed: float = 1.0, webhook_retry_base: float = 0.2) -> None:
        self.proc = start_service(
            self.home,
            self.port,
            API_KEY,
            API_SECRET,
            self.sources(),
            self.warehouse,
            speed=speed,
            webhook_retry_base=webhook_retry_base,
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def wait_idle(self, timeout: float = 120) -> None:
        with self.client() as c:
            resp = c.post("/admin/wait-idle", json={"timeout": timeout})
        assert resp.json()["idle"], f"service not idle after {timeout}s"

    def sync(self, *connector_ids: str, resync: bool = False) -> list[dict[str, Any]]:
        """Trigger syncs through the admin API and wait; return their history entries."""
        with self.client() as c:
            body = {"connector_ids": list(connector_ids) or None, "wait": True, "resync": resync}
            resp = c.post("/admin/syncs", json=body)
        resp.raise_for_status()
        return resp.json()["syncs"]

    def pg(self, dsn: str, statement: str, params: tuple[Any, ...] = ()) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(statement, params)  # type: ignore[arg-type]

    def warehouse_query(self, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        deadline = time.monotonic() + 30
        while True:
            try:
                con = duckdb.connect(str(self.warehouse), read_only=True)
                break
            except duckdb.IOException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        try:
            return con.execute(query, params or []).fetchall()
        finally:
            con.close()


def make_sources(
    cluster: PostgresCluster, root: Path, rows: int, tenants: tuple[str, ...]
) -> dict[str, Any]:
    n = next(_counter)
    jobs = {}
    for tenant in tenants:
        name = f"t{n}_jobs_{tenant}"
        cluster.create_database(name)
        jobs[tenant] = cluster.dsn(name)
    saas = f"t{n}_saas"
    cluster.create_database(saas)
    minisource.build_postgres(jobs, cluster.dsn(saas), rows)
    minisource.write_gps_batch(root / "telematics", 1, 2_000)
    minisource.write_sheet(root / "sheets")
    return {"jobs": jobs, "saas": cluster.dsn(saas)}


class StackFactory:
    """Makes stacks under one root and stops them all at the end."""

    def __init__(self, cluster: PostgresCluster, root: Path) -> None:
        self.cluster = cluster
        self.root = root
        self.stacks: list[Stack] = []

    def __call__(
        self,
        rows: int = 200,
        tenants: tuple[str, ...] = ("bu_north", "bu_south"),
        speed: float = 1.0,
        start: bool = True,
    ) -> Stack:
        root = self.root / f"stack{len(self.stacks)}"
        src = make_sources(self.cluster, root, rows, tenants)
        stack = Stack(
            home=root / "fivetran",
            port=free_port(),
            warehouse=root / "warehouse.duckdb",
            jobs_dsns=src["jobs"],
            saas_dsn=src["saas"],
            telematics_dir=root / "telematics",
            sheets_dir=root / "sheets",
        )
        self.stacks.append(stack)
        if start:
            stack.start(speed=speed)
            stack.wait_idle()
        return stack

    def close(self) -> None:
        for stack in self.stacks:
            stack.stop()


@pytest.fixture
def stack_factory(pg_cluster: PostgresCluster, tmp_path: Path) -> Iterator[StackFactory]:
    factory = StackFactory(pg_cluster, tmp_path)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def stack(stack_factory: StackFactory) -> Stack:
    return stack_factory()


@pytest.fixture(scope="module")
def shared_stack(
    pg_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """One stack for a module whose tests only read (or undo what they change)."""
    factory = StackFactory(pg_cluster, tmp_path_factory.mktemp("shared"))
    try:
        yield factory()
    finally:
        factory.close()


# --------------------------------------------------------------------------- expectations


def hashed(value: Any) -> str | None:
    if value is None:
        return None
    return hashlib.sha256((SALT + str(value)).encode()).hexdigest()


def _norm(value: Any) -> Any:
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def source_rows(
    dsn: str, system: catalog.System, table: catalog.Table, hashed_cols: set[str]
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """PK -> expected destination values (hashes applied, timestamps naive UTC)."""
    cols = [c.name for c in table.columns]
    with psycopg.connect(dsn) as conn:
        conn.execute("set time zone 'UTC'")
        rows = conn.execute(
            sql.SQL("select {} from {}.{}").format(
                sql.SQL(", ").join(sql.Identifier(c) for c in cols),
                sql.Identifier(system.schema),
                sql.Identifier(table.name),
            )
        ).fetchall()
    out = {}
    pk_idx = [cols.index(k) for k in table.primary_key]
    for row in rows:
        values = tuple(hashed(v) if cols[i] in hashed_cols else _norm(v) for i, v in enumerate(row))
        out[tuple(row[i] for i in pk_idx)] = values
    return out


def dest_rows(
    stack: Stack, schema: str, table: catalog.Table
) -> tuple[dict[tuple[Any, ...], tuple[Any, ...]], set[tuple[Any, ...]]]:
    """(live PK -> values, deleted PKs) of a landed table."""
    cols = [catalog.destination_name(c.name) for c in table.columns]
    pks = [catalog.destination_name(k) for k in table.primary_key]
    quoted = ", ".join(f'"{c}"' for c in cols)
    rows = stack.warehouse_query(
        f'select {quoted}, _fivetran_deleted from "{schema}"."{catalog.destination_name(table.name)}"'
    )
    live, deleted = {}, set()
    pk_idx = [cols.index(k) for k in pks]
    for row in rows:
        key = tuple(row[i] for i in pk_idx)
        if row[-1]:
            deleted.add(key)
        else:
            assert key not in live, f"duplicate live key {key} in {schema}"
            live[key] = tuple(row[:-1])
    return live, deleted


def assert_all_landed(stack: Stack) -> None:
    """Every enabled PostgreSQL-backed table equals its source under Fivetran's semantics."""
    account = load_account(SourceSettings.from_mapping(stack.sources()))
    checked = 0
    for conn in account.connectors.values():
        system = conn.catalog_system
        if system.storage not in ("postgres_tenant", "postgres_saas"):
            continue
        dsn = stack.jobs_dsns[conn.tenant] if conn.tenant else stack.saas_dsn
        for name, cfg in conn.tables.items():
            table = system.table(name)
            if not cfg.enabled:
                assert not stack.warehouse_query(
                    "select 1 from information_schema.tables where table_schema = ? and table_name = ?",
                    [conn.schema, catalog.destination_name(name)],
                ), f"excluded table {name} landed"
                continue
            expected = source_rows(dsn, system, table, set(cfg.hashed))
            live, deleted = dest_rows(stack, conn.schema, table)
            assert set(live) == set(expected), f"{conn.id}.{name}: keys differ"
            for key, values in expected.items():
                assert live[key] == values, f"{conn.id}.{name} {key}: {live[key]} != {values}"
            assert not deleted & set(expected), f"{conn.id}.{name}: live rows flagged deleted"
            checked += 1
    assert checked >= 13


def clear_pii_values(stack: Stack) -> set[str]:
    """Every clear PII value in the sources (emails, phones, addresses)."""
    values: set[str] = set()
    for system in (catalog.JOBS_DB, catalog.SALESFORCE):
        dsns = list(stack.jobs_dsns.values()) if system is catalog.JOBS_DB else [stack.saas_dsn]
        for dsn in dsns:
            for table in system.tables:
                for col in table.columns:
                    if not col.pii:
                        continue
                    with psycopg.connect(dsn) as conn:
                        values.update(
                            r[0]
                            for r in conn.execute(
                                sql.SQL("select {}::text from {}.{} where {} is not null").format(
                                    sql.Identifier(col.name),
                                    sql.Identifier(system.schema),
                                    sql.Identifier(table.name),
                                    sql.Identifier(col.name),
                                )
                            )
                        )
    return values


def warehouse_strings(stack: Stack) -> set[str]:
    """Every VARCHAR value anywhere in the warehouse."""
    found: set[str] = set()
    columns = stack.warehouse_query(
        "select table_schema, table_name, column_name from information_schema.columns"
        " where data_type = 'VARCHAR'"
    )
    for schema, table, column in columns:
        found.update(
            r[0]
            for r in stack.warehouse_query(
                f'select distinct "{column}" from "{schema}"."{table}" where "{column}" is not null'
            )
        )
    return found


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
