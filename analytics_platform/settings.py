"""Settings: the one place that reads the environment.

``ENVIRONMENT`` is ``local`` (embedded DuckDB warehouse, loopback stand-ins), ``ci`` (the same,
isolated) or ``prod`` (Snowflake, real vendors). Secrets are never read here: they stay
``dg.EnvVar`` so that they resolve at launch, and a missing one fails loudly, naming itself.

:class:`EnvironmentVariables` (pydantic-settings) reads and type-checks the variables;
:func:`load_settings` derives the values that depend on each other (the warehouse follows the
environment, its file lives under the home) into a frozen :class:`Settings`, a plain dataclass
so that callers can derive a variant with :func:`dataclasses.replace`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["local", "ci", "prod"]
FivetranMode = Literal["webhook", "polling", "trigger"]
"""How Dagster learns of syncs: Fivetran schedules them and Dagster observes them through a
webhook receiver or a polling sensor, or Dagster triggers them on the design's cadences."""
DbtRunner = Literal["inprocess", "subprocess"]
"""How a run invokes dbt: in the run worker's interpreter (warm) or as a ``dbt`` subprocess."""

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = Path(
    os.environ.get("FIELDFORCE_DBT_PROJECT_DIR") or PROJECT_ROOT / "dbt_fieldforce"
)
"""The dbt project: beside the package in a checkout; an installed wheel (whose package sits in
site-packages) points ``FIELDFORCE_DBT_PROJECT_DIR`` at the project it deploys."""
ALERTING_CONFIG_PATH = Path(
    os.environ.get("FIELDFORCE_ALERTING_CONFIG") or PROJECT_ROOT / "alerting.yaml"
)
"""The alerting policy: ``alerting.yaml`` beside the package in a checkout; a deployment points
``FIELDFORCE_ALERTING_CONFIG`` at the file it ships."""

FIVETRAN_API_URL = "https://api.fivetran.com/v1"
SLACK_API_URL = "https://slack.com/api/"
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
DAGSTER_UI_URL = "http://127.0.0.1:3000"
"""The vendors' real endpoints and the local Dagster UI: the defaults when nothing is set."""


def clean_group_name(name: str) -> str:
    """A Dagster-safe group name: lowercase letters, digits and underscores."""
    return re.sub(r"[^0-9a-z_]+", "_", name.lower()).strip("_")


class MissingSettingError(RuntimeError):
    """A required environment variable is not set, or one that is set holds a bad value."""


def require(name: str) -> str:
    """The value of environment variable ``name``; raises naming it when unset or empty."""
    value = os.environ.get(name)
    if not value:
        raise MissingSettingError(
            f"environment variable {name} is not set (see .env.example for what it means)"
        )
    return value


class EnvironmentVariables(BaseSettings):
    """The non-secret variables the platform reads, typed, with the local platform's defaults."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", frozen=True)

    environment: Environment = Field(default="local", validation_alias="ENVIRONMENT")
    home: Path = Field(default=PROJECT_ROOT / ".fieldforce", validation_alias="FIELDFORCE_HOME")
    warehouse_path: Path | None = Field(
        default=None,
        validation_alias="FIELDFORCE_WAREHOUSE_PATH",
        description="The DuckDB file; ``warehouse.duckdb`` under the home when unset.",
    )
    fivetran_api_base_url: str = Field(
        default=FIVETRAN_API_URL, validation_alias="FIVETRAN_API_BASE_URL"
    )
    fivetran_mode: FivetranMode = Field(default="webhook", validation_alias="FIVETRAN_MODE")
    fivetran_poll_interval_s: int = Field(default=30, validation_alias="FIVETRAN_POLL_INTERVAL_S")
    slack_api_base_url: str = Field(default=SLACK_API_URL, validation_alias="SLACK_API_BASE_URL")
    pagerduty_events_url: str = Field(
        default=PAGERDUTY_EVENTS_URL, validation_alias="PAGERDUTY_EVENTS_URL"
    )
    dagster_ui_url: str = Field(default=DAGSTER_UI_URL, validation_alias="DAGSTER_UI_URL")
    dbt_runner: DbtRunner = Field(default="inprocess", validation_alias="FIELDFORCE_DBT_RUNNER")
    planner_time_scale: float = Field(
        default=1.0,
        gt=0,
        validation_alias="FIELDFORCE_PLANNER_TIME_SCALE",
        description="Multiplies every planner window (warn, fail, margin, backoff): tests shorten.",
    )
    jobs_db_dsns: dict[str, str] = Field(
        default_factory=dict,
        validation_alias="JOBS_DB_DSNS",
        description="Jobs DB tenant -> PostgreSQL DSN (a JSON object), read by the drift check.",
    )


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
    dbt_runner: DbtRunner = "inprocess"
    """``inprocess``: dbt runs in the run worker's interpreter; ``subprocess``: a ``dbt`` process."""
    planner_time_scale: float = 1.0
    """Multiplies the planner's windows, margin and backoff (a daemon test runs in minutes)."""
    jobs_db_dsns: dict[str, str] = field(default_factory=dict)
    """Jobs DB tenant -> DSN (no password: libpq reads PGPASSWORD / ~/.pgpass)."""

    @property
    def is_prod(self) -> bool:
        """Production reads Snowflake and the real vendors."""
        return self.environment == "prod"


def _read_environment() -> EnvironmentVariables:
    try:
        return EnvironmentVariables()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']},"
            f" got {error.get('input')!r}"
            for error in exc.errors()
        )
        raise MissingSettingError(
            f"bad environment variable(s): {problems} (see .env.example for what they mean)"
        ) from None


def load_settings() -> Settings:
    """Resolve :class:`Settings` from the environment (defaults are the local platform's).

    Returns:
        The settings of this process.

    Raises:
        MissingSettingError: A variable holds a value of the wrong kind, naming it.
    """
    env = _read_environment()
    home = env.home.resolve()
    return Settings(
        environment=env.environment,
        home=home,
        warehouse_type="snowflake" if env.environment == "prod" else "duckdb",
        warehouse_path=(env.warehouse_path or home / "warehouse.duckdb").resolve(),
        fivetran_api_base_url=env.fivetran_api_base_url,
        fivetran_mode=env.fivetran_mode,
        fivetran_poll_interval_s=env.fivetran_poll_interval_s,
        slack_api_base_url=env.slack_api_base_url,
        pagerduty_events_url=env.pagerduty_events_url,
        dagster_ui_url=env.dagster_ui_url,
        planner_time_scale=env.planner_time_scale,
        dbt_runner=env.dbt_runner,
        jobs_db_dsns=dict(env.jobs_db_dsns),
    )
