"""The connections as created: `connectors.yaml` plus where the sources live.

The YAML says what each connection is when it is created (its source system, destination
schema, schedule, and which tables Fivetran treats as system tables); the sources file says
*where* the estate is (one DSN per Jobs DB tenant, the SaaS database, the telematics and sheets
folders). Tenants come from the sources file, so an estate with N tenants gets N Jobs DB
connectors without editing the YAML.

What a client configures afterwards through the API (tables excluded, columns hashed or
blocked, schema-change handling) is runtime state of the service; :func:`with_schema_config`
lays it over the connection as created to give the configuration a sync runs with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from standins.sources import catalog

DEFAULT_CONNECTORS_YAML = Path(__file__).with_name("connectors.yaml")

ALLOWED_SYNC_FREQUENCIES = (5, 15, 30, 60, 120, 180, 360, 480, 720, 1440)
"""Minutes Fivetran accepts for `sync_frequency`."""


@dataclass(frozen=True)
class SourceSettings:
    """Where the source estate lives (what the Estate reports about itself)."""

    jobs_db_dsns: dict[str, str] = field(default_factory=dict)
    saas_dsn: str | None = None
    telematics_dir: Path | None = None
    sheets_dir: Path | None = None

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> SourceSettings:
        """Build from the JSON shape documented in `local/standins/fivetran/README.md`."""
        tel = data.get("telematics_dir")
        sheets = data.get("sheets_dir")
        return cls(
            jobs_db_dsns=dict(data.get("jobs_db_dsns") or {}),
            saas_dsn=data.get("saas_dsn"),
            telematics_dir=Path(tel) if tel else None,
            sheets_dir=Path(sheets) if sheets else None,
        )

    @classmethod
    def from_json(cls, path: Path) -> SourceSettings:
        """Read a sources JSON file."""
        return cls.from_mapping(json.loads(path.read_text()))

    def to_mapping(self) -> dict[str, Any]:
        """The JSON shape, for writing a sources file."""
        return {
            "jobs_db_dsns": self.jobs_db_dsns,
            "saas_dsn": self.saas_dsn,
            "telematics_dir": str(self.telematics_dir) if self.telematics_dir else None,
            "sheets_dir": str(self.sheets_dir) if self.sheets_dir else None,
        }


@dataclass(frozen=True)
class TableConfig:
    """One source table of a connector."""

    name: str
    enabled: bool = True
    hashed: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()
    read_only: bool = False
    """A system table: Fivetran refuses to change its table-level settings."""


@dataclass(frozen=True)
class ConnectorConfig:
    """One connector as configured (its runtime state lives in the service)."""

    id: str
    service: str
    system: str
    schema: str
    sync_frequency: int
    schedule_type: str
    schema_change_handling: str
    tables: dict[str, TableConfig]
    tenant: str | None = None
    paused: bool = False

    @property
    def catalog_system(self) -> catalog.System:
        """The catalog entry of the source system."""
        return catalog.system(self.system)

    def table_config(self, name: str) -> TableConfig | None:
        """The configured table called `name` (source name), if any."""
        return self.tables.get(name)


@dataclass(frozen=True)
class GroupConfig:
    """The destination group (Fivetran: a group and its destination share one id)."""

    id: str
    name: str
    destination: dict[str, Any]


@dataclass(frozen=True)
class AccountConfig:
    """The whole configured account."""

    group: GroupConfig
    hash_salt: str
    connectors: dict[str, ConnectorConfig]


def load_account(sources: SourceSettings, path: Path = DEFAULT_CONNECTORS_YAML) -> AccountConfig:
    """Expand the YAML against the estate's tenants and validate it against the catalog.

    Raises:
        ValueError: a table name the catalog does not know, a catalog table the YAML forgets,
            or a frequency Fivetran would reject.
    """
    raw = yaml.safe_load(path.read_text())
    group = GroupConfig(
        id=raw["group"]["id"], name=raw["group"]["name"], destination=raw["group"]["destination"]
    )
    connectors: dict[str, ConnectorConfig] = {}
    for spec in raw["connectors"]:
        tenants: list[str | None] = list(sources.jobs_db_dsns) if spec.get("per_tenant") else [None]
        for tenant in tenants:
            conn = _connector(spec, tenant)
            connectors[conn.id] = conn
    return AccountConfig(group=group, hash_salt=str(raw["hash_salt"]), connectors=connectors)


def _connector(spec: dict[str, Any], tenant: str | None) -> ConnectorConfig:
    def fill(text: str) -> str:
        return text.format(tenant=tenant) if tenant else text

    system = catalog.system(spec["system"])
    tables = {
        name: TableConfig(name=name, read_only=bool((opts or {}).get("read_only", False)))
        for name, opts in spec["tables"].items()
    }
    known = {t.name for t in system.tables}
    if set(tables) != known:
        raise ValueError(
            f"connector {spec['id']}: tables {sorted(tables)} must list exactly the catalog's"
            f" {spec['system']} tables {sorted(known)}"
        )
    if spec["sync_frequency"] not in ALLOWED_SYNC_FREQUENCIES:
        raise ValueError(f"{spec['id']}: sync_frequency {spec['sync_frequency']} not allowed")
    return ConnectorConfig(
        id=fill(spec["id"]),
        service=spec["service"],
        system=spec["system"],
        schema=fill(spec["schema"]),
        sync_frequency=int(spec["sync_frequency"]),
        schedule_type=spec.get("schedule_type", "auto"),
        schema_change_handling=spec.get("schema_change_handling", "ALLOW_ALL"),
        tables=tables,
        tenant=tenant,
        paused=bool(spec.get("paused", False)),
    )


def with_schema_config(conn: ConnectorConfig, schema_config: dict[str, Any]) -> ConnectorConfig:
    """The connection as a sync runs it: its tables with the client's schema config laid over.

    Args:
        conn: the connection as created.
        schema_config: the service's runtime shape, ``{"schema_change_handling": ...,
            "tables": {table: {"enabled": bool, "columns": {column: {"enabled", "hashed"}}}}}``;
            tables the catalog does not know (found at the source later) are left to the sync.
    """
    tables = dict(conn.tables)
    for name, settings in (schema_config.get("tables") or {}).items():
        base = tables.get(name)
        if base is None:
            continue
        columns: dict[str, dict[str, Any]] = settings.get("columns") or {}
        tables[name] = replace(
            base,
            enabled=bool(settings.get("enabled", base.enabled)),
            hashed=tuple(sorted(c for c, s in columns.items() if s.get("hashed"))),
            blocked=tuple(sorted(c for c, s in columns.items() if s.get("enabled") is False)),
        )
    handling = schema_config.get("schema_change_handling") or conn.schema_change_handling
    return replace(conn, tables=tables, schema_change_handling=handling)
