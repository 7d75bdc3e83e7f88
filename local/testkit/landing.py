"""A running landing side: the local Fivetran over its sources, and the warehouse it fills.

:class:`Stack` is what :func:`testkit.builder.build_stack` hands back: it starts and stops the
service (a process on 127.0.0.1, or in this process), asks it to sync, and reads the sources and
the warehouse the way tests and benchmarks check them. The builder decides what to start; this
module is how to drive it once started.

The local Fivetran creates its connections paused with Fivetran's defaults (nothing hashed or
excluded); each start brings them to the desired state through the production
``analytics_platform.ingest.connectors`` apply, over HTTP (or the same app in process), before
anything syncs, so every stack lands what a configured production account lands.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import psycopg
from standins.fivetran.config import SourceSettings
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from analytics_platform.ingest.connectors.cli import Command, run
from testkit.warehouse_checksums import connect_read_only

API_KEY = "test-key"
API_SECRET = "test-secret"

Spawn = Callable[[Sequence[str]], subprocess.Popen[bytes]]
"""Starts the service's command line and hands back its process (e.g. a supervisor's)."""
FivetranMode = Literal["process", "in_process", "none"]


class StackError(RuntimeError):
    """A part of the stack did not start or its first syncs failed; the message names it."""


class _NotReady(Exception):
    """The service does not answer yet (retried until the deadline)."""


@dataclass(frozen=True)
class FivetranOptions:
    """How the local Fivetran runs.

    Attributes:
        mode: ``process`` (``python -m standins.fivetran serve`` on 127.0.0.1), ``in_process``
            (a ``FivetranService`` without its scheduler: syncs run when asked) or ``none``.
        home: the service's state folder; None means ``<root>/fivetran``.
        speed: how much faster than real time the service clock runs.
        webhook_retry_base: the first webhook retry's delay in seconds.
        api_key: the REST API key.
        api_secret: the REST API secret.
        port: the port; None picks a free one.
        log_path: where the process logs; None means ``<home>/service.log``.
        spawn: starts the command line instead of the builder (a supervisor that owns it).
        ready_timeout_s: how long the process may take to answer.
        apply_config: apply the desired connector configuration on every start (False leaves
            the connections as created: paused, nothing hashed or excluded).
        desired_config: the desired state; None means the repository's ``fivetran.yaml``.
    """

    mode: FivetranMode = "process"
    home: Path | None = None
    speed: float = 1.0
    webhook_retry_base: float = 1.0
    api_key: str = API_KEY
    api_secret: str = API_SECRET
    port: int | None = None
    log_path: Path | None = None
    spawn: Spawn | None = None
    ready_timeout_s: float = 60.0
    apply_config: bool = True
    desired_config: Path | None = None


@dataclass
class Stack:
    """One landing side: its sources, its local Fivetran and the warehouse it syncs into."""

    home: Path
    port: int
    warehouse: Path
    jobs_dsns: dict[str, str]
    saas_dsn: str
    telematics_dir: Path
    sheets_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    options: FivetranOptions = field(default_factory=FivetranOptions)
    source_info: dict[str, Any] = field(default_factory=dict)
    """How the sync reaches every system (the estate's ``connection_info``)."""
    estate: Any = None
    """The ``Estate`` this stack started, if any (stopped by :meth:`close`)."""
    service: Any = None
    """The in-process ``FivetranService`` (mode ``in_process``)."""
    root: Path | None = None
    """The folder :func:`build_stack` built the stack under."""

    @property
    def api_key(self) -> str:
        """The REST API key."""
        return self.options.api_key

    @property
    def api_secret(self) -> str:
        """The REST API secret."""
        return self.options.api_secret

    @property
    def base_url(self) -> str:
        """The service's root URL (``/v1/...`` and ``/admin/...`` below it)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The Fivetran REST API v1 root."""
        return f"{self.base_url}/v1"

    def client(self, timeout: float = 120) -> httpx.Client:
        """An authenticated HTTP client for the service."""
        return httpx.Client(
            base_url=self.base_url, auth=(self.api_key, self.api_secret), timeout=timeout
        )

    def sources(self) -> dict[str, Any]:
        """Where the sources live, in the shape of the service's sources file."""
        return {
            "jobs_db_dsns": self.jobs_dsns,
            "saas_dsn": self.saas_dsn,
            "telematics_dir": str(self.telematics_dir),
            "sheets_dir": str(self.sheets_dir),
        }

    # -- the service -------------------------------------------------------------------------

    def start(self, speed: float | None = None, webhook_retry_base: float | None = None) -> None:
        """Start the service (its options unless ``speed``/``webhook_retry_base`` are given).

        Raises:
            StackError: the process exited or did not answer in time (the message names its log).
        """
        mode = self.options.mode
        if mode == "none":
            return
        speed = self.options.speed if speed is None else speed
        retry_base = (
            self.options.webhook_retry_base if webhook_retry_base is None else webhook_retry_base
        )
        if mode == "in_process":
            from standins.fivetran.service import FivetranService

            self.service = FivetranService(
                self.home,
                SourceSettings.from_mapping(self.sources()),
                self.warehouse,
                speed=speed,
                webhook_retry_base=retry_base,
                autostart=False,
            )
        else:
            self.proc = self._spawn(self._serve_argv(speed, retry_base))
            self._wait_ready()
        if self.options.apply_config:
            self._apply_connector_config()

    def api_client(self) -> httpx.Client:
        """An authenticated client of the REST API root (``.../v1/``), in process or not."""
        if self.service is None:
            return httpx.Client(
                base_url=f"{self.api_url}/", auth=(self.api_key, self.api_secret), timeout=120
            )
        from fastapi.testclient import TestClient
        from standins.fivetran.api import build_app

        client = TestClient(
            build_app(self.service, self.api_key, self.api_secret),
            base_url="http://local-fivetran/v1/",
        )
        client.auth = (self.api_key, self.api_secret)
        return client

    def connector_config(self, command: Command, config: Path | None = None) -> tuple[int, str]:
        """Run the production ``plan``/``apply`` against this service; (status, output).

        Args:
            command: ``plan`` or ``apply``.
            config: the desired state; None means the options' (default ``fivetran.yaml``).
        """
        lines: list[str] = []
        with self.api_client() as client:
            status = run(
                command,
                client,
                secrets=(self.api_key, self.api_secret),
                config=config or self.options.desired_config,
                echo=lines.append,
            )
        return status, "\n".join(lines)

    def _apply_connector_config(self) -> None:
        """Bring the connections to the desired state before anything syncs.

        Raises:
            StackError: apply did not converge (the output is in ``<home>/connector-config.log``).
        """
        status, output = self.connector_config("apply")
        log = self.home / "connector-config.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as out:
            out.write(output + "\n")
        if status != 0:
            self.stop()
            raise StackError(f"applying the connector configuration failed:\n{output}")

    def _serve_argv(self, speed: float, webhook_retry_base: float) -> list[str]:
        """The service's command line, with its sources written to ``<home>/sources.json``."""
        self.home.mkdir(parents=True, exist_ok=True)
        sources_path = self.home / "sources.json"
        settings = SourceSettings.from_mapping(self.sources())
        sources_path.write_text(json.dumps(settings.to_mapping(), indent=1))
        return [
            sys.executable,
            "-m",
            "standins.fivetran",
            "serve",
            "--home",
            str(self.home),
            "--port",
            str(self.port),
            "--api-key",
            self.api_key,
            "--api-secret",
            self.api_secret,
            "--sources",
            str(sources_path),
            "--warehouse",
            str(self.warehouse),
            "--speed",
            str(speed),
            "--webhook-retry-base",
            str(webhook_retry_base),
        ]

    @property
    def log_path(self) -> Path:
        """Where the service process logs."""
        return self.options.log_path or self.home / "service.log"

    def _spawn(self, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        if self.options.spawn is not None:
            return self.options.spawn(argv)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            return subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT)

    def _wait_ready(self) -> None:
        """Wait until the REST API answers; a process that exits or stays silent is an error."""
        proc = self.proc
        assert proc is not None
        where = f"127.0.0.1:{self.port} (see {self.log_path})"

        def probe() -> None:
            if proc.poll() is not None:
                raise StackError(f"the local Fivetran exited with {proc.returncode} on {where}")
            try:
                with self.client(timeout=1) as client:
                    answered = client.get("/v1/groups").status_code == 200
            except httpx.HTTPError:
                answered = False
            if not answered:
                raise _NotReady

        try:
            for attempt in Retrying(
                stop=stop_after_delay(self.options.ready_timeout_s),
                wait=wait_fixed(0.1),
                retry=retry_if_exception_type(_NotReady),
                reraise=True,
            ):
                with attempt:
                    probe()
        except _NotReady:
            self.stop()
            raise StackError(f"the local Fivetran service did not start on {where}") from None

    def stop(self) -> None:
        """Stop the service (only the Fivetran: the sources keep running)."""
        if self.service is not None:
            self.service.stop()
            self.service = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def close(self) -> None:
        """Stop the service and the estate this stack started."""
        try:
            self.stop()
        finally:
            if self.estate is not None:
                self.estate.stop()
                self.estate = None

    def __enter__(self) -> Stack:
        """The stack itself; :meth:`close` on exit."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the stack."""
        self.close()

    # -- syncs -------------------------------------------------------------------------------

    def connector_ids(self) -> list[str]:
        """Every connector the service knows."""
        if self.service is not None:
            return list(self.service.account.connectors)
        with self.client() as client:
            response = client.get("/v1/connectors")
        response.raise_for_status()
        return [item["id"] for item in response.json()["data"]["items"]]

    def manual_schedules(self) -> None:
        """Switch every connector to ``schedule_type: manual``: nothing syncs unless asked."""
        if self.service is not None:
            return  # the in-process service has no scheduler
        with self.client() as client:
            for connector_id in self.connector_ids():
                client.patch(
                    f"/v1/connectors/{connector_id}", json={"schedule_type": "manual"}
                ).raise_for_status()

    def wait_idle(self, timeout: float = 120) -> None:
        """Wait until no sync runs, is queued or due, and no webhook is in flight."""
        if self.service is not None:
            return  # in process, a sync has finished when :meth:`sync` returns
        with self.client() as c:
            resp = c.post("/admin/wait-idle", json={"timeout": timeout})
        assert resp.json()["idle"], f"service not idle after {timeout}s"

    def sync(
        self, *connector_ids: str, resync: bool = False, timeout: float = 600
    ) -> list[dict[str, Any]]:
        """Sync the connectors (default: all) and wait; return their history entries."""
        if self.service is not None:
            from standins.fivetran.service import SyncRequest

            ids = connector_ids or tuple(self.service.account.connectors)
            return [
                self.service.run_sync(SyncRequest(cid, resync=resync, reason="test")) for cid in ids
            ]
        body = {
            "connector_ids": list(connector_ids) or None,
            "wait": True,
            "resync": resync,
            "timeout": timeout,
        }
        with self.client(timeout=timeout + 60) as c:
            resp = c.post("/admin/syncs", json=body)
        resp.raise_for_status()
        return resp.json()["syncs"]

    # -- reads and writes --------------------------------------------------------------------

    def pg(self, dsn: str, statement: str, params: tuple[Any, ...] = ()) -> None:
        """Run one statement on a source database (autocommit)."""
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(statement, params)  # type: ignore[arg-type]

    def warehouse_query(self, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Rows of a read-only query of the warehouse, waiting while a sync holds the file."""
        con = connect_read_only(self.warehouse, timeout_s=30, poll_s=0.1)
        try:
            return con.execute(query, params or []).fetchall()
        finally:
            con.close()
