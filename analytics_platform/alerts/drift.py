"""Schema drift: what Fivetran reports changing in a connector's tables, routed by the design.

The design's drift table (docs/ARCHITECTURE.md, "Schema drift") gives each change a severity:

| scenario           | Platform Connector log event                         | severity |
|--------------------|------------------------------------------------------|----------|
| new column         | ``alter_table`` / ``schema_change`` ``ADD_COLUMN``   | info     |
| column removed     | ``alter_table`` / ``schema_change`` ``DROP_COLUMN``  | error    |
| column type change | ``alter_table`` / ``schema_change`` ``CHANGE_COLUMN_TYPE`` | error |
| new table          | ``create_table`` (after the first sync), ``CREATE_TABLE`` | warning |
| table removed      | ``drop_table``, ``table_removed``                    | error    |

Every change reaches Slack once, with its severity, connector, table and column, and the dbt
models downstream of the table in the lineage graph. An error whose downstream models include
one whose failure pages (``dbt_model_failure``: a mart) is "breaking" (``schema_drift`` in
``alerting.yaml``): it pages too, as that model's failure would, and stays an open incident
until each of those models has materialized again after the change.

The sensor reads ``fivetran_metadata.log`` in order from its cursor
(:mod:`~analytics_platform.alerts.platform_log`), so each event alerts once, across restarts;
a fresh cursor starts at the log's end (what happened before is history). Fivetran repeats a
"table removed" note on every sync while the table stays gone: that is one alert, until the
table comes back.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import dagster as dg

from analytics_platform.alerts.fivetran import connectors_of
from analytics_platform.alerts.incidents import (
    DeliveringNotifier,
    alert_from_json,
    alert_to_json,
    known_secrets,
    reconcile,
    scrub,
)
from analytics_platform.alerts.platform_log import (
    SYNC_END,
    LogEvent,
    LogPosition,
    read_log,
    read_new,
    sync_outcome,
)
from analytics_platform.alerts.policy import DESTINATION_KINDS, AlertingConfig, classify
from analytics_platform.alerts.render import Alert, redact
from analytics_platform.alerts.runs import layer_of_group
from analytics_platform.ingest.changes import Dialect
from analytics_platform.ingest.checks import Clock, parse_time, utc_now

RULE = "schema_drift"
MODEL_RULE = "dbt_model_failure"
SENSOR_NAME = "alerts__schema_drift_sensor"
MAX_MODELS_NAMED = 8

DriftKind = Literal[
    "new_column", "column_removed", "column_type_change", "new_table", "table_removed"
]
DESIGN_SEVERITY: dict[DriftKind, str] = {
    "new_column": "info",
    "column_removed": "error",
    "column_type_change": "error",
    "new_table": "warning",
    "table_removed": "error",
}
"""The design's drift table: the severity of each scenario."""

SCHEMA_EVENTS = ("alter_table", "create_table", "drop_table", "schema_change", "table_removed")
"""Log events that report a schema change: Fivetran's, and the local Fivetran's names."""

_COLUMN_CHANGES: dict[str, DriftKind] = {
    "ADD_COLUMN": "new_column",
    "DROP_COLUMN": "column_removed",
    "CHANGE_COLUMN_TYPE": "column_type_change",
    "CREATE_TABLE": "new_table",
    "DROP_TABLE": "table_removed",
}

_COLUMN_KINDS = frozenset({"new_column", "column_removed", "column_type_change"})
BASELINE_LOOKBACK = timedelta(days=7)
"""How much of the log a fresh cursor reads to learn which connectors have synced before."""


@dataclass(frozen=True)
class Drift:
    """One schema change of one connector's table."""

    kind: DriftKind
    connector_id: str
    table: str
    column: str | None
    change: str | None
    at: datetime

    @property
    def severity(self) -> str:
        """The design's severity of this change."""
        return DESIGN_SEVERITY[self.kind]


def _text(data: Mapping[str, Any], *keys: str) -> str | None:
    properties = data.get("properties") if isinstance(data.get("properties"), Mapping) else {}
    for key in keys:
        for source in (data, properties):
            value = source.get(key)
            if value not in (None, ""):
                return str(value)
    return None


def classify_event(event: LogEvent, *, established: bool) -> Drift | None:
    """The drift a log event reports (None: not a schema change of an existing connector).

    Args:
        event: A row of the log.
        established: Whether the connector had synced successfully before: the tables a
            first sync creates are the connector being set up, not drift.
    """
    data = event.data
    kind: DriftKind | None
    if event.name in ("alter_table", "schema_change"):
        kind = _COLUMN_CHANGES.get(str(data.get("type") or "").upper())
    elif event.name == "create_table":
        kind = "new_table" if established else None
    elif event.name in ("drop_table", "table_removed"):
        kind = "table_removed"
    else:
        kind = None
    table = _text(data, "table", "name", "tableName")
    if kind is None or table is None:
        return None
    column = _text(data, "column", "columnName") if kind in _COLUMN_KINDS else None
    change = None
    if kind == "column_type_change":
        before = _text(data, "from", "oldType", "old_type")
        after = _text(data, "to", "newType", "new_type", "data_type", "dataType")
        change = f"{before or '?'} → {after or '?'}"
    elif kind == "new_column":
        change = _text(data, "data_type", "dataType", "type_name")
    return Drift(kind, event.connection_id, table, column, change, event.at)


@dataclass(frozen=True)
class Lineage:
    """The dbt models downstream of each connector table, with their groups."""

    children: Mapping[dg.AssetKey, frozenset[dg.AssetKey]]
    groups: Mapping[dg.AssetKey, str | None]
    models: frozenset[dg.AssetKey]

    @classmethod
    def of(cls, specs: Iterable[dg.AssetSpec]) -> Lineage:
        """The lineage graph of the code location's specs."""
        children: dict[dg.AssetKey, set[dg.AssetKey]] = {}
        groups: dict[dg.AssetKey, str | None] = {}
        models: set[dg.AssetKey] = set()
        for spec in specs:
            groups[spec.key] = spec.group_name
            if "dbt" in spec.kinds:
                models.add(spec.key)
            for dep in spec.deps:
                children.setdefault(dep.asset_key, set()).add(spec.key)
        return cls(
            {key: frozenset(found) for key, found in children.items()},
            groups,
            frozenset(models),
        )

    def downstream(self, key: dg.AssetKey) -> list[dg.AssetKey]:
        """Every dbt model downstream of ``key``, nearest first."""
        found: list[dg.AssetKey] = []
        seen = {key}
        queue = deque([key])
        while queue:
            for child in sorted(self.children.get(queue.popleft(), ()), key=str):
                if child not in seen:
                    seen.add(child)
                    queue.append(child)
                    if child in self.models:
                        found.append(child)
        return found


def paging_models(
    models: Iterable[dg.AssetKey], lineage: Lineage, config: AlertingConfig
) -> list[dg.AssetKey]:
    """The ``models`` whose own failure pages (``dbt_model_failure``: a mart)."""
    return [
        key
        for key in models
        if classify(MODEL_RULE, layer_of_group(lineage.groups.get(key)), config) == "critical"
    ]


def drift_value(
    drift: Drift, models: Iterable[dg.AssetKey], lineage: Lineage, config: AlertingConfig
) -> str:
    """The value the ``schema_drift`` rule classifies: the design's severity, or "breaking".

    An error is breaking when a model it reaches is one whose own failure pages.
    """
    if drift.severity == "error" and paging_models(models, lineage, config):
        return "breaking"
    return drift.severity


_SAID: dict[DriftKind, str] = {
    "new_column": "new column",
    "column_removed": "column removed",
    "column_type_change": "column type changed",
    "new_table": "new table",
    "table_removed": "table removed",
}


def drift_alert(
    drift: Drift, schema: str, lineage: Lineage, config: AlertingConfig
) -> tuple[Alert, list[dg.AssetKey]] | None:
    """The alert of one drift and the models whose next build ends it (None: no rule fires)."""
    key = dg.AssetKey(["fivetran", schema, drift.table])
    models = lineage.downstream(key)
    value = drift_value(drift, models, lineage, config)
    severity = classify(RULE, value, config)
    if severity is None:
        return None
    names = [model.path[-1] for model in models]
    shown = ", ".join(names[:MAX_MODELS_NAMED]) + (
        f" and {len(names) - MAX_MODELS_NAMED} more" if len(names) > MAX_MODELS_NAMED else ""
    )
    place = f"{schema}.{drift.table}" + (f".{drift.column}" if drift.column else "")
    what = (
        f"Schema drift ({drift.severity}): {_SAID[drift.kind]} {place}"
        + (f" ({drift.change})" if drift.change else "")
        + f" reported by Fivetran connector {drift.connector_id}; "
        + (f"read by dbt models {shown}" if names else "no dbt model reads it yet")
    )
    where = "/".join(["fivetran", schema, drift.table, *([drift.column] if drift.column else [])])
    breaking = paging_models(models, lineage, config) if value == "breaking" else []
    alert = Alert(
        rule=RULE,
        severity=severity,
        what=what,
        where=where,
        since=drift.at,
        asset_key=tuple(key.path) if key in lineage.groups else ("fivetran", schema),
        details={
            "scenario": _SAID[drift.kind],
            "drift_severity": drift.severity,
            "connector_id": drift.connector_id,
            "table": f"{schema}.{drift.table}",
            "column": drift.column,
            "change": drift.change,
            "dbt_models": ", ".join(names) or None,
            "breaks_a_paging_model": value == "breaking",
        },
    )
    return alert, breaking


def _rebuilt(instance: dg.DagsterInstance, models: Iterable[str], since: datetime) -> bool:
    """Whether every one of ``models`` has materialized after ``since``."""
    for path in models:
        event = instance.get_latest_materialization_event(dg.AssetKey.from_user_string(path))
        if event is None or event.timestamp <= since.timestamp():
            return False
    return True


def build_schema_drift_sensor(
    specs: Iterable[dg.AssetSpec],
    config: AlertingConfig,
    *,
    dialect: Dialect = "duckdb",
    clock: Clock = utc_now,
    minimum_interval_seconds: int = 60,
) -> dg.SensorDefinition:
    """``alerts__schema_drift_sensor``: the schema changes Fivetran reports, by the design.

    Its JSON cursor is ``{"log": <position>, "established": [<connectors that synced>],
    "removed": [<tables announced gone>], "pending": [<notices not delivered yet>],
    "breaking": {<where>: <alert and the marts whose build ends it>}, "incidents": <see
    reconcile>}``.
    """
    specs = list(specs)
    connectors = connectors_of(specs)
    lineage = Lineage.of(specs)

    @dg.sensor(
        name=SENSOR_NAME,
        description=(
            "Schema changes Fivetran reports in its Platform Connector log: new column info,"
            " new table warning, removed column / type change / removed table error (Slack);"
            " an error that breaks a mart pages."
        ),
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        required_resource_keys={"slack", "pagerduty", "warehouse"},
    )
    def schema_drift_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        state: dict[str, Any] = json.loads(context.cursor) if context.cursor else {}
        now = clock()
        secrets = tuple(known_secrets())
        position = LogPosition.from_json(state.get("log"))
        established = set(state.get("established") or [])
        try:
            with context.resources.warehouse.get_connection() as connection:
                if position is None:
                    # A fresh cursor: the log so far is history; only who has synced matters.
                    history = read_log(
                        connection, [*SCHEMA_EVENTS, SYNC_END], now - BASELINE_LOOKBACK, dialect
                    )
                    established |= {e.connection_id for e in history if sync_outcome(e)}
                    _, position = LogPosition().advance(history)
                    events: list[LogEvent] = []
                else:
                    events, position = read_new(
                        connection, [*SCHEMA_EVENTS, SYNC_END], position, dialect
                    )
        except Exception as exc:  # a busy or unreachable warehouse: try again next tick
            text = redact(f"{type(exc).__name__}: {exc}"[:300], secrets)
            return dg.SensorResult(skip_reason=f"cannot read the Fivetran log: {text}")
        removed = set(state.get("removed") or [])
        notices = [alert_from_json(item) for item in state.get("pending") or []]
        open_breaking: dict[str, Any] = dict(state.get("breaking") or {})
        announced = set(open_breaking)
        for event in events:
            if sync_outcome(event):
                established.add(event.connection_id)
            schema = connectors.get(event.connection_id)
            drift = classify_event(event, established=event.connection_id in established)
            if schema is None or drift is None:
                continue
            table_id = f"{drift.connector_id}/{drift.table}"
            if drift.kind == "table_removed":
                if table_id in removed:
                    continue  # the same removal, noted again by a later sync
                removed.add(table_id)
            else:
                removed.discard(table_id)
            made = drift_alert(drift, schema, lineage, config)
            if made is None:
                continue
            alert, breaking = made
            if breaking:
                open_breaking[alert.where] = {
                    "alert": alert_to_json(alert),
                    "models": [model.to_user_string() for model in breaking],
                }
            else:
                notices.append(alert)
        notifier = DeliveringNotifier(
            config, context.resources.slack, context.resources.pagerduty, now, secrets
        )
        pending = []
        for alert in notices:
            clean = scrub(alert, secrets)
            if not notifier.send(clean, DESTINATION_KINDS):
                pending.append(alert_to_json(clean))
        # A page announced on an earlier tick ends once its marts have built after the change.
        for where in sorted(announced & set(open_breaking)):
            since = parse_time(open_breaking[where]["alert"]["since"])
            if since is not None and _rebuilt(
                context.instance, open_breaking[where]["models"], since
            ):
                del open_breaking[where]
        problems = {
            where: scrub(alert_from_json(entry["alert"]), secrets)
            for where, entry in open_breaking.items()
        }
        incidents, summary = reconcile(state.get("incidents") or {}, problems, config, notifier)
        cursor = {
            "log": position.to_json(),
            "established": sorted(established),
            "removed": sorted(removed),
            "pending": pending,
            "breaking": open_breaking,
            "incidents": incidents,
        }
        said = f"{len(notices) - len(pending)} drift notice(s) sent; {summary.text()}"
        return dg.SensorResult(
            skip_reason=redact(said, secrets),
            cursor=json.dumps(redact(cursor, secrets), sort_keys=True, default=str),
        )

    return schema_drift_sensor
