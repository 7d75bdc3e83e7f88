"""The local platform as one object: start every part in order, describe it, stop all of it.

Used by ``fieldforce up`` and by test fixtures that need the whole stack. Order matters:
sources first (the sync reads them), then the sync service (both from the one local-stack
builder, ``testkit.builder``), then the stand-ins and Dagster (its definitions talk to the sync
service). Each part records how to reach it in the stack file.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from standins.sources.config import DEFAULT_SPEED
from testkit.builder import EstateSources, FivetranOptions, Stack, StackError, build_stack

from devstack.ports import ensure_free, free_port, wait_for_port
from devstack.processes import Supervisor
from devstack.stack import REPO_ROOT, remove_stack, write_stack

Progress = Callable[[str, int, int], None]
RECEIVER = "webhook-receiver"
"""The supervisor's name of the webhook receiver (and of its log file)."""
DAEMON = "dagster-daemon"
"""The supervisor's name of the Dagster daemon (and of its log file)."""


class LaunchError(RuntimeError):
    """A part of the local platform could not start; the message names it."""


def check_writable(home: Path) -> None:
    """Fail with one line naming ``home`` when it cannot be created or written."""
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / ".write-probe"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise LaunchError(f"data directory {home} is not writable ({exc.strerror})") from None


@dataclass
class LocalPlatform:
    """Every process of the local platform, started and stopped together."""

    home: Path
    seed: int = 42
    scale: float = 0.001
    tenants: int = 2
    speed: float = DEFAULT_SPEED
    dagster_port: int | None = 3000
    with_dagster: bool = True
    with_change_stream: bool = True
    fivetran_mode: str = "webhook"
    """How Dagster learns of syncs: ``webhook`` (the receiver) or ``polling`` (a sensor)."""
    poll_interval_s: float | None = None
    """The polling sensor's interval (``FIVETRAN_POLL_INTERVAL_S``); None keeps the default."""
    extra_env: dict[str, str] = field(default_factory=dict)
    """Added to the code location's environment (e.g. ``FIELDFORCE_PLANNER_TIME_SCALE=0.05``)."""
    supervisor: Supervisor = field(init=False)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Logs of every child go next to the data they belong to."""
        self.supervisor = Supervisor(log_dir=self.home / "logs")

    def start(self, progress: Progress | None = None) -> dict[str, Any]:
        """Start all parts; returns the stack description (also written to the stack file)."""
        check_writable(self.home)
        if self.with_dagster and self.dagster_port:
            ensure_free(self.dagster_port, "Dagster UI")
        landing = self._start_landing(progress)
        self.info = {
            "home": str(self.home),
            "warehouse": {"type": "duckdb", "path": str(landing.warehouse)},
            "sources": landing.source_info,
            "fivetran_api_url": landing.api_url,
            "fivetran_api_key": landing.api_key,
            "fivetran_api_secret": landing.api_secret,
            "webhook_secret": secrets.token_hex(16),
        }
        self._publish()
        self._start_alert_standins()
        if self.with_change_stream:
            self._start_change_stream()
        if self.with_dagster:
            self._prepare_dbt()
            self._start_dagster()
            if self.fivetran_mode == "webhook":
                self._start_webhook_receiver()
        self._publish()
        return self.info

    def _start_landing(self, progress: Progress | None) -> Stack:
        """The sources (an estate with these parameters is reused) and the local Fivetran.

        The Fivetran runs under the supervisor, so ``fieldforce up`` notices when it dies; it
        syncs on its own schedule, and Dagster learns of the syncs as in production.
        """
        from standins.sources.estate import EstateError

        def spawn(argv: Sequence[str]) -> subprocess.Popen[bytes]:
            return self.supervisor.start("fivetran", argv, cwd=REPO_ROOT).popen

        try:
            landing = build_stack(
                self.home,
                EstateSources(
                    home=self.home,
                    seed=self.seed,
                    scale=self.scale,
                    tenants=self.tenants,
                    reuse=True,
                    progress=progress,
                ),
                fivetran=FivetranOptions(
                    speed=self.speed,
                    api_key=secrets.token_hex(8),
                    api_secret=secrets.token_hex(16),
                    log_path=self.home / "logs" / "fivetran.log",
                    spawn=spawn,
                ),
                first_sync="none",
            )
        except (EstateError, StackError) as exc:
            raise LaunchError(str(exc)) from None
        self.supervisor.on_stop.append(landing.close)
        return landing

    def stop(self) -> None:
        """Stop every process this platform started and remove the stack file.

        The webhook receiver goes first, while the Fivetran it unregisters from still answers.
        """
        self.supervisor.stop_one(RECEIVER)
        self.supervisor.stop()
        remove_stack(self.home)

    def env(self) -> dict[str, str]:
        """The environment the production code location reads (see .env.example)."""
        env = {
            "ENVIRONMENT": "local",
            "FIVETRAN_MODE": self.fivetran_mode,
            "FIELDFORCE_HOME": str(self.home),
            "FIELDFORCE_WAREHOUSE_PATH": self.info["warehouse"]["path"],
        }
        if "fivetran_api_url" in self.info:
            env |= {
                "FIVETRAN_API_BASE_URL": self.info["fivetran_api_url"],
                "FIVETRAN_API_KEY": self.info["fivetran_api_key"],
                "FIVETRAN_API_SECRET": self.info["fivetran_api_secret"],
                "FIVETRAN_WEBHOOK_SECRET": self.info["webhook_secret"],
            }
        if "slack_api_url" in self.info:
            env |= {
                "SLACK_API_BASE_URL": self.info["slack_api_url"],
                "SLACK_BOT_TOKEN": self.info["slack_bot_token"],
                "PAGERDUTY_EVENTS_URL": self.info["pagerduty_events_url"],
                "PAGERDUTY_ROUTING_KEY": self.info["pagerduty_routing_key"],
            }
        if self.poll_interval_s is not None:
            env["FIVETRAN_POLL_INTERVAL_S"] = str(self.poll_interval_s)
        if "dagster_url" in self.info:
            env["DAGSTER_UI_URL"] = self.info["dagster_url"]
        if start := self.info.get("sources", {}).get("start"):
            # The facts' daily partitions begin where the estate's history does.
            env["FIELDFORCE_FIRST_PARTITION_DATE"] = start[:10]
        if dsns := self.info.get("sources", {}).get("jobs_db_dsns"):
            env["JOBS_DB_DSNS"] = json.dumps(dsns)
        return env | self.extra_env

    def _start_alert_standins(self) -> None:
        slack_port, pagerduty_port = free_port(), free_port()
        token, routing_key = f"xoxb-{secrets.token_hex(12)}", secrets.token_hex(16)
        self.supervisor.start(
            "slack",
            [
                sys.executable,
                "-m",
                "standins.slack",
                "serve",
                "--port",
                str(slack_port),
                "--token",
                token,
                "--home",
                str(self.home / "slack"),
            ],
            cwd=REPO_ROOT,
        )
        self.supervisor.start(
            "pagerduty",
            [
                sys.executable,
                "-m",
                "standins.pagerduty",
                "serve",
                "--port",
                str(pagerduty_port),
                "--home",
                str(self.home / "pagerduty"),
                "--routing-key",
                routing_key,
            ],
            cwd=REPO_ROOT,
        )
        for name, port in (("slack", slack_port), ("pagerduty", pagerduty_port)):
            if not wait_for_port(port, 30):
                raise LaunchError(
                    f"the {name} stand-in did not start on 127.0.0.1:{port}"
                    f" (see {self.home / 'logs' / (name + '.log')})"
                )
        self.info |= {
            "slack_api_url": f"http://127.0.0.1:{slack_port}/api/",
            "slack_ui_url": f"http://127.0.0.1:{slack_port}/",
            "slack_bot_token": token,
            "pagerduty_events_url": f"http://127.0.0.1:{pagerduty_port}/v2/enqueue",
            "pagerduty_ui_url": f"http://127.0.0.1:{pagerduty_port}/",
            "pagerduty_routing_key": routing_key,
        }

    def _publish(self) -> None:
        write_stack(self.info, self.home)

    def _start_change_stream(self) -> None:
        self.supervisor.start(
            "sources",
            [
                sys.executable,
                "-m",
                "standins.sources",
                "--home",
                str(self.home),
                "stream",
                "--speed",
                str(self.speed),
            ],
            cwd=REPO_ROOT,
        )

    def _prepare_dbt(self) -> None:
        """Parse the dbt project so Dagster loads from a current manifest (no parse at load)."""
        from analytics_platform.transform.project import prepare_manifest

        try:
            prepare_manifest(env={**os.environ, **self.env()})
        except RuntimeError as exc:
            raise LaunchError(str(exc)[-300:]) from None

    def _start_webhook_receiver(self) -> None:
        """The production receiver; it registers its own account webhook with the Fivetran.

        The receiver keeps one subscription per home across restarts (it updates the previous
        run's and deletes its stale ones) and removes it when stopped, so nothing here talks to
        the Fivetran API. It listens only once registered, so the port opening means done.
        """
        port = free_port()
        url = f"http://127.0.0.1:{port}/webhooks/fivetran"
        env = self.env() | {"DAGSTER_UI_URL": self.info["dagster_url"]}
        child = self.supervisor.start(
            RECEIVER,
            [
                sys.executable,
                "-m",
                "analytics_platform.ingest.webhook",
                "--port",
                str(port),
                "--public-url",
                url,
            ],
            env=env,
            cwd=REPO_ROOT,
        )
        if not wait_for_port(port, 180, alive=lambda: child.popen.poll() is None):
            raise LaunchError(
                f"the webhook receiver did not start on 127.0.0.1:{port}"
                f" (see {self.home / 'logs' / (RECEIVER + '.log')})"
            )
        self.info["webhook_url"] = url

    def _start_dagster(self) -> None:
        dagster_home = self.home / "dagster"
        dagster_home.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
        tmp = self.home / "tmp"
        tmp.mkdir(exist_ok=True)
        port = self.dagster_port or free_port()
        env = self.env() | {"DAGSTER_HOME": str(dagster_home), "TMPDIR": str(tmp)}
        bin_dir = Path(sys.executable).parent
        workspace = str(REPO_ROOT / "workspace.yaml")
        # Webserver first: starting both on a fresh SQLite home at once can race on migrations.
        webserver = self.supervisor.start(
            "dagster-webserver",
            [
                str(bin_dir / "dagster-webserver"),
                "-w",
                workspace,
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            env=env,
            cwd=REPO_ROOT,
        )
        if not wait_for_port(port, 300, alive=lambda: webserver.popen.poll() is None):
            raise LaunchError(
                f"the Dagster UI did not start on 127.0.0.1:{port}"
                f" (see {self.home / 'logs' / 'dagster-webserver.log'})"
            )
        self.info["dagster_url"] = f"http://127.0.0.1:{port}"
        self.info["dagster_home"] = str(dagster_home)
        self.start_daemon()

    def start_daemon(self) -> None:
        """Start the Dagster daemon on the running webserver's home (again, after it died).

        A dead daemon's child stays in the supervisor, so stopping the platform still sweeps
        its process group (the code server and run workers it started).
        """
        dagster_home = Path(self.info["dagster_home"])
        env = self.env() | {"DAGSTER_HOME": str(dagster_home), "TMPDIR": str(self.home / "tmp")}
        bin_dir = Path(sys.executable).parent
        self.supervisor.start(
            DAEMON,
            [str(bin_dir / "dagster-daemon"), "run", "-w", str(REPO_ROOT / "workspace.yaml")],
            env=env,
            cwd=REPO_ROOT,
        )
