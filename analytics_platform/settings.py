"""Settings: the one place that reads the environment.

``ENVIRONMENT`` is ``local`` (embedded DuckDB warehouse, loopback stand-ins), ``ci`` (the same,
isolated) or ``prod`` (Snowflake, real vendors). Secrets are never read here: they stay
``dg.EnvVar`` so that they resolve at launch, and a missing one fails loudly, naming itself.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Environment = Literal["local", "ci", "prod"]
FivetranMode = Literal["webhook", "polling", "trigger"]
"""How Dagster learns of syncs: Fivetran schedules them and Dagster observes them through a
webhook receiver or a polling sensor, or Dagster triggers them on the SDD cadences."""

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_fieldforce"


def clean_group_name(name: str) -> str:
    """A Dagster-safe group name: lowercase letters, digits and underscores."""
    return re.sub(r"[^0-9a-z_]+", "_", name.lower()).strip("_")


class MissingSettingError(RuntimeError):
    """A required environment variable is not set."""


def require(name: str) -> str:
    """The value of environment variable ``name``; raises naming it when unset or empty."""
    value = os.environ.get(name)
    if not value:
        raise MissingSettingError(
            f"environment variable {name} is not set (see .env.example for what it means)"
        )
    return value


@dataclass(frozen=True)
class Settings:
    """Typed, non-secret settings resolved once from the environment."""

    environment: Environment
    home: Path
    warehouse_type: Literal["duckdb", "snowflake"]
    warehouse_path: Path
    fivetran_api_base_url: str
    fivetran_mode: FivetranMode
    fivetran_poll_interval_s: int
    """Seconds between polls of the Fivetran API in ``polling`` mode."""
    slack_api_base_url: str
    pagerduty_events_url: str
    dagster_ui_url: str

    @property
    def is_prod(self) -> bool:
        """Production reads Snowflake and the real vendors."""
        return self.environment == "prod"


def _fivetran_mode() -> FivetranMode:
    mode = os.environ.get("FIVETRAN_MODE", "webhook")
    if mode not in ("webhook", "polling", "trigger"):
        raise MissingSettingError(
            f"FIVETRAN_MODE must be one of webhook, polling, trigger; got {mode!r}"
        )
    return mode  # type: ignore[return-value]


def load_settings() -> Settings:
    """Resolve :class:`Settings` from the environment (defaults are the local platform's)."""
    environment = os.environ.get("ENVIRONMENT", "local")
    if environment not in ("local", "ci", "prod"):
        raise MissingSettingError(
            f"ENVIRONMENT must be one of local, ci, prod; got {environment!r}"
        )
    home = Path(os.environ.get("FIELDFORCE_HOME", PROJECT_ROOT / ".fieldforce")).resolve()
    warehouse_type = "snowflake" if environment == "prod" else "duckdb"
    warehouse_path = Path(
        os.environ.get("FIELDFORCE_WAREHOUSE_PATH", home / "warehouse.duckdb")
    ).resolve()
    return Settings(
        environment=environment,  # type: ignore[arg-type]
        home=home,
        warehouse_type=warehouse_type,
        warehouse_path=warehouse_path,
        fivetran_api_base_url=os.environ.get(
            "FIVETRAN_API_BASE_URL", "https://api.fivetran.com/v1"
        ),
        fivetran_mode=_fivetran_mode(),
        fivetran_poll_interval_s=int(os.environ.get("FIVETRAN_POLL_INTERVAL_S", "30")),
        slack_api_base_url=os.environ.get("SLACK_API_BASE_URL", "https://slack.com/api/"),
        pagerduty_events_url=os.environ.get(
            "PAGERDUTY_EVENTS_URL", "https://events.pagerduty.com/v2/enqueue"
        ),
        dagster_ui_url=os.environ.get("DAGSTER_UI_URL", "http://127.0.0.1:3000"),
    )
