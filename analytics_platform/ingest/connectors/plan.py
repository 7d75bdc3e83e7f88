"""How the account differs from the desired state: a pure diff, the read that feeds it, its text.

:func:`diff_connection` and :func:`diff_account` compare what Fivetran's API answered with
``fivetran.yaml`` and touch nothing, so every rule of the comparison is unit-tested without an
account. :func:`read_plan` is the one place that reads the account for it.

A column missing from a schema config follows its table's defaults (Fivetran lists only the
columns whose state was ever set), so such a column is looked up in the source table's column
config before it is called missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from analytics_platform.ingest.connectors.api import FivetranApi
from analytics_platform.ingest.connectors.desired import ConnectorSpec, DesiredState

Level = Literal["column", "table", "schema_config", "connection"]
CONNECTION_FIELDS = ("sync_frequency", "schedule_type", "paused")


@dataclass(frozen=True)
class Change:
    """One setting to change: where, from what, to what, and why."""

    level: Level
    field: str
    current: Any
    desired: Any
    table: str | None = None
    column: str | None = None
    why: str | None = None
    read_only: str | None = None
    """Why the account says the setting cannot be changed (its ``enabled_patch_settings``)."""

    def where(self, source_schema: str) -> str:
        """``connection``, ``schema config``, ``table s.t`` or ``column s.t.c``."""
        if self.level == "column":
            return f"column {source_schema}.{self.table}.{self.column}"
        if self.level == "table":
            return f"table {source_schema}.{self.table}"
        return "schema config" if self.level == "schema_config" else "connection"

    def describe(self, source_schema: str) -> str:
        """One line: where, the field, current -> desired, and the reason when there is one."""
        text = f"{self.where(source_schema)}: {self.field} {_show(self.current)} -> {_show(self.desired)}"
        if self.why:
            text += f"  ({' '.join(self.why.split())})"
        if self.read_only:
            text += f"  [read-only in the account: {self.read_only}]"
        return text


@dataclass(frozen=True)
class ConnectionPlan:
    """What changes on one connection, and what no API call can fix."""

    connection_id: str
    schema: str
    source_schema: str
    changes: tuple[Change, ...] = ()
    problems: tuple[str, ...] = ()
    unmanaged_tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """The difference between the account and the desired state."""

    connections: tuple[ConnectionPlan, ...]
    missing: tuple[str, ...] = ()
    """Desired schemas no connection of the account lands in."""
    unmanaged: tuple[str, ...] = ()
    """Connections of the account ``fivetran.yaml`` does not configure (left alone)."""

    @property
    def changes(self) -> int:
        """How many settings differ."""
        return sum(len(c.changes) for c in self.connections)

    @property
    def problems(self) -> int:
        """How many differences no API call can fix."""
        return sum(len(c.problems) for c in self.connections) + len(self.missing)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "(unset)" if value is None else str(value)


def _read_only(settings: Mapping[str, Any] | None) -> str | None:
    """The reason ``enabled_patch_settings`` gives when ``enabled`` may not change."""
    if not settings or settings.get("allowed", True):
        return None
    return str(settings.get("reason") or settings.get("reason_code") or "not allowed")


def diff_connection(
    spec: ConnectorSpec,
    connection: Mapping[str, Any],
    schema_config: Mapping[str, Any],
    source_columns: Mapping[str, Mapping[str, Any]] | None = None,
) -> ConnectionPlan:
    """Compare one connection with its desired entry.

    Args:
        spec: the entry of ``fivetran.yaml`` that configures the connection.
        connection: ``GET /v1/connections/{id}``'s ``data``.
        schema_config: ``GET /v1/connections/{id}/schemas``'s ``data``.
        source_columns: per table, ``GET .../tables/{table}/columns``'s ``columns``, for
            tables whose desired columns the schema config does not list.

    Returns:
        Changes ordered columns, tables, schema config, connection (the order apply uses).
    """
    source_columns = source_columns or {}
    cid = str(connection["id"])
    problems: list[str] = []
    if connection.get("service") != spec.service:
        problems.append(
            f"service is {connection.get('service')!r}, fivetran.yaml says {spec.service!r}"
        )
    columns: list[Change] = []
    tables: list[Change] = []
    schema = (schema_config.get("schemas") or {}).get(spec.source_schema)
    found_tables: Mapping[str, Any] = (schema or {}).get("tables") or {}
    if schema is None:
        problems.append(f"source schema {spec.source_schema!r} is not in the schema config")
    for name, table_spec in spec.tables.items():
        table = found_tables.get(name)
        if schema is not None and table is None:
            problems.append(f"table {spec.source_schema}.{name} is not in the schema config")
            continue
        if table is None:
            continue
        if bool(table.get("enabled", True)) != table_spec.enabled:
            tables.append(
                Change(
                    "table",
                    "enabled",
                    bool(table.get("enabled", True)),
                    table_spec.enabled,
                    table=name,
                    why=table_spec.why,
                    read_only=_read_only(table.get("enabled_patch_settings")),
                )
            )
        listed: Mapping[str, Any] = table.get("columns") or {}
        looked_up = source_columns.get(name)
        for column in (*table_spec.hashed, *table_spec.blocked):
            found = listed.get(column) or (looked_up or {}).get(column)
            if found is None:
                if looked_up is not None:
                    problems.append(
                        f"column {spec.source_schema}.{name}.{column} is not in the source table"
                    )
                    continue
                found = {}  # not listed and not looked up: the table's defaults
            want_hashed = column in table_spec.hashed
            want_enabled = column not in table_spec.blocked
            if bool(found.get("hashed", False)) != want_hashed:
                columns.append(
                    Change(
                        "column",
                        "hashed",
                        bool(found.get("hashed", False)),
                        want_hashed,
                        table=name,
                        column=column,
                    )
                )
            if bool(found.get("enabled", True)) != want_enabled:
                columns.append(
                    Change(
                        "column",
                        "enabled",
                        bool(found.get("enabled", True)),
                        want_enabled,
                        table=name,
                        column=column,
                        why=table_spec.blocked_why,
                        read_only=_read_only(found.get("enabled_patch_settings")),
                    )
                )
        # A column the file no longer hashes or blocks goes back to the defaults.
        for column, found in listed.items():
            if column in table_spec.hashed or column in table_spec.blocked:
                continue
            if found.get("hashed"):
                columns.append(Change("column", "hashed", True, False, table=name, column=column))
            if found.get("enabled") is False and not _read_only(
                found.get("enabled_patch_settings")
            ):
                columns.append(Change("column", "enabled", False, True, table=name, column=column))
    top: list[Change] = []
    handling = schema_config.get("schema_change_handling")
    if handling != spec.schema_change_handling:
        top.append(
            Change("schema_config", "schema_change_handling", handling, spec.schema_change_handling)
        )
    conn: list[Change] = []
    for name in CONNECTION_FIELDS:
        desired = getattr(spec, name)
        if connection.get(name) != desired:
            conn.append(Change("connection", name, connection.get(name), desired))
    unmanaged = tuple(sorted(t for t in found_tables if t not in spec.tables))
    return ConnectionPlan(
        connection_id=cid,
        schema=str(connection.get("schema")),
        source_schema=spec.source_schema,
        changes=(*columns, *tables, *top, *conn),
        problems=tuple(problems),
        unmanaged_tables=unmanaged,
    )


def columns_to_look_up(spec: ConnectorSpec, schema_config: Mapping[str, Any]) -> list[str]:
    """Tables whose desired hashed or blocked columns the schema config does not list."""
    schema = (schema_config.get("schemas") or {}).get(spec.source_schema) or {}
    tables = schema.get("tables") or {}
    wanted = []
    for name, table_spec in spec.tables.items():
        listed = (tables.get(name) or {}).get("columns") or {}
        if name in tables and any(
            c not in listed for c in (*table_spec.hashed, *table_spec.blocked)
        ):
            wanted.append(name)
    return wanted


def diff_account(
    desired: DesiredState,
    connections: list[Mapping[str, Any]],
    schema_configs: Mapping[str, Mapping[str, Any]],
    source_columns: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
) -> Plan:
    """Compare every connection of the account with ``fivetran.yaml``.

    Args:
        desired: the desired state.
        connections: the account's connections (``GET /v1/connections/{id}`` each).
        schema_configs: per connection id, its schema config.
        source_columns: per connection id and table, the source table's columns.

    Returns:
        The plan; connections matched by destination schema, templates over every match.
    """
    source_columns = source_columns or {}
    plans: list[ConnectionPlan] = []
    unmanaged: list[str] = []
    matched: set[str] = set()
    for connection in sorted(connections, key=lambda c: str(c.get("schema"))):
        schema = str(connection.get("schema"))
        spec = desired.for_schema(schema)
        if spec is None:
            unmanaged.append(f"{schema} ({connection['id']})")
            continue
        matched.add(spec.schema_)
        cid = str(connection["id"])
        plans.append(
            diff_connection(spec, connection, schema_configs[cid], source_columns.get(cid))
        )
    schemas = [str(c.get("schema")) for c in connections]
    twice = sorted({s for s in schemas if schemas.count(s) > 1})
    if twice:
        plans = [
            ConnectionPlan(
                p.connection_id,
                p.schema,
                p.source_schema,
                (),
                (
                    f"{len([s for s in schemas if s == p.schema])} connections land in {p.schema}:"
                    " choose one group (--group-id)",
                ),
            )
            if p.schema in twice
            else p
            for p in plans
        ]
    missing = tuple(
        c.schema_ for c in desired.connectors if not c.is_template and c.schema_ not in matched
    )
    return Plan(tuple(plans), missing=missing, unmanaged=tuple(unmanaged))


@dataclass
class AccountSnapshot:
    """What :func:`read_plan` read: connections, schema configs, looked-up source columns."""

    connections: list[dict[str, Any]] = field(default_factory=list)
    schema_configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    source_columns: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


def read_account(
    api: FivetranApi, desired: DesiredState, group_id: str | None = None
) -> AccountSnapshot:
    """Read what the plan compares: each configured connection, its schema config, columns."""
    snapshot = AccountSnapshot()
    for listed in api.connections(group_id):
        spec = desired.for_schema(str(listed.get("schema")))
        if spec is None:
            snapshot.connections.append(dict(listed))
            continue
        cid = str(listed["id"])
        connection = api.connection(cid)
        config = api.schema_config(cid)
        snapshot.connections.append(connection)
        snapshot.schema_configs[cid] = config
        for table in columns_to_look_up(spec, config):
            found = api.columns(cid, spec.source_schema, table)
            snapshot.source_columns.setdefault(cid, {})[table] = found
    return snapshot


def read_plan(api: FivetranApi, desired: DesiredState, group_id: str | None = None) -> Plan:
    """Read the account and compare it with the desired state."""
    snapshot = read_account(api, desired, group_id)
    return diff_account(
        desired, snapshot.connections, snapshot.schema_configs, snapshot.source_columns
    )


def render_plan(plan: Plan) -> list[str]:
    """The plan as lines of text, one per change, grouped by connection."""
    lines: list[str] = []
    for conn in plan.connections:
        if not conn.changes and not conn.problems:
            lines.append(f"= {conn.schema} ({conn.connection_id}): as desired")
            continue
        lines.append(f"~ {conn.schema} ({conn.connection_id})")
        lines += [f"    {change.describe(conn.source_schema)}" for change in conn.changes]
        lines += [f"    ! {problem}" for problem in conn.problems]
        if conn.unmanaged_tables:
            lines.append(
                f"    (tables not in fivetran.yaml, left as they are: {', '.join(conn.unmanaged_tables)})"
            )
    lines += [f"! {schema}: no connection of the account lands in it" for schema in plan.missing]
    lines += [f"  {name}: not in fivetran.yaml, left as it is" for name in plan.unmanaged]
    if plan.changes:
        touched = sum(1 for c in plan.connections if c.changes)
        lines.append(f"Plan: {plan.changes} change(s) on {touched} connection(s).")
    else:
        lines.append("No changes: the account matches fivetran.yaml.")
    if plan.problems:
        lines.append(f"{plan.problems} problem(s) that apply cannot fix (marked !).")
    return lines
