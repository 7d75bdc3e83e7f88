"""Raw-vs-source drift: a Jobs DB raw table that has fallen behind its source, syncs or not.

Every Fivetran row of the alert matrix trusts what Fivetran reports; this one counts both ends
(:mod:`analytics_platform.ingest.reconcile`): per tenant and table, the source's live rows and
primary-key checksum against the raw table's live rows (not ``_fivetran_deleted``). It fires
when the connector keeps reporting success while the warehouse misses rows the source has had
all along, or still holds rows the source has deleted, whatever the cause.

The two ends differ by the changes since the last sync at any moment, and while a sync is in
flight. So a difference alerts only once it has outlived the connector's own cadence: a table
is judged over a window that a whole successful sync lies inside, on the keys the source did not
change during it, and the rule (``raw_source_drift`` in ``alerting.yaml``) counts consecutive
windows that found drift. A reading taken while a sync runs, or a window without a finished
sync (a paused or failing connector: the delay and failure rows' business), judges nothing and
leaves an open incident as it is; a window whose judged keys agree resolves it.

The tenants' databases are reached through the DSNs in settings (``JOBS_DB_DSNS``), read in one
read-only REPEATABLE READ transaction per tenant so that its tables are counted at one instant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import dagster as dg

from analytics_platform.alerts.incidents import Findings, build_alert_sensor, known_secrets
from analytics_platform.alerts.policy import AlertingConfig, classify
from analytics_platform.alerts.render import Alert, redact
from analytics_platform.ingest.changes import Dialect
from analytics_platform.ingest.checks import Clock, RawTable, parse_time, raw_tables, utc_now
from analytics_platform.ingest.reconcile import (
    Judgement,
    Look,
    Tally,
    advance,
    source_primary_keys,
    tally_raw,
    tally_source,
)
from analytics_platform.ingest.tenants import TENANT_SCHEMA_PREFIX
from analytics_platform.settings import load_settings

DRIFT_RULE = "raw_source_drift"
SENSOR_NAME = "alerts__raw_source_drift_sensor"
MAX_ERROR_CHARS = 300

Dsns = Callable[[], Mapping[str, str]]
"""Where the sensor finds ``tenant -> Jobs DB DSN`` (settings in production; tests their own)."""


def settings_dsns() -> Mapping[str, str]:
    """The Jobs DB DSNs of the environment (``JOBS_DB_DSNS``), read when the sensor ticks."""
    return load_settings().jobs_db_dsns


def where_of(table: RawTable) -> str:
    """The stable place of a table's drift incident: its asset key path."""
    return "/".join(table.key.path)


def tenant_tables(specs: Iterable[dg.AssetSpec]) -> dict[str, list[RawTable]]:
    """``tenant -> its Jobs DB raw tables`` (schemas ``fivetran_postgres_<tenant>``)."""
    found: dict[str, list[RawTable]] = {}
    for table in raw_tables(specs):
        if table.schema.startswith(TENANT_SCHEMA_PREFIX):
            found.setdefault(table.schema.removeprefix(TENANT_SCHEMA_PREFIX), []).append(table)
    return found


def drift_alert(
    table: RawTable,
    judgement: Judgement,
    strikes: int,
    since: datetime,
    config: AlertingConfig,
) -> Alert | None:
    """The alert of a table whose latest window found drift (None: not for long enough yet)."""
    severity = classify(DRIFT_RULE, strikes, config)
    if severity is None:
        return None
    behind = (
        f"{judgement.missing} row(s) the source has are missing"
        if judgement.missing > 0
        else f"{-judgement.missing} row(s) the source deleted are still live"
        if judgement.missing < 0
        else "its keys differ from the source's"
    )
    asset = table.key.to_user_string()
    return Alert(
        rule=DRIFT_RULE,
        severity=severity,
        what=(
            f"Raw table {asset} has fallen behind its source while connector"
            f" {table.connector_id} reports successful syncs: {behind}"
            f" ({strikes} sync windows in a row)"
        ),
        where=where_of(table),
        since=since,
        asset_key=tuple(table.key.path),
        details={
            "connector_id": table.connector_id,
            "source_rows": judgement.source_rows,
            "raw_rows": judgement.raw_rows,
            "missing_rows": judgement.missing,
            "drifted_buckets": len(judgement.drifted),
            "judged_buckets": judgement.settled,
            "windows_in_a_row": strikes,
        },
    )


def read_tenant(
    dsn: str,
    tables: list[RawTable],
    warehouse: Any,
    dialect: Dialect,
    client: Any,
) -> dict[str, Look]:
    """One reading of a tenant's tables: ``where -> Look`` (tables the source lacks are left out).

    The connector's API object is read before and after both sides, so a sync that started or
    finished meanwhile makes the reading not idle. The warehouse (the ``warehouse`` resource) is
    opened for the raw side only: a DuckDB file has one writer, and the syncs need it.
    """
    import psycopg2  # dagster-postgres's driver: the code location already depends on it

    connector_id = tables[0].connector_id
    before = client.get_connector_details(connector_id)
    names = [table.table for table in tables]
    connection = psycopg2.connect(dsn)
    try:
        connection.set_session(isolation_level="REPEATABLE READ", readonly=True)
        keys = source_primary_keys(connection, names)
        sources: dict[str, Tally] = {
            name: tally_source(connection, name, keys[name]) for name in names if name in keys
        }
        connection.rollback()
    finally:
        connection.close()
    with warehouse.get_connection() as connection:
        raws = {
            name: tally_raw(connection, table.schema, name, keys[name], dialect)
            for table in tables
            if (name := table.table) in sources
        }
    after = client.get_connector_details(connector_id)
    idle = all(
        ((details.get("status") or {}).get("sync_state") or "") != "syncing"
        for details in (before, after)
    ) and before.get("succeeded_at") == after.get("succeeded_at")
    return {
        where_of(table): Look(
            source=sources[table.table],
            raw=raws[table.table],
            last_success=after.get("succeeded_at"),
            idle=idle,
        )
        for table in tables
        if table.table in sources
    }


def measure_drift(
    context: dg.SensorEvaluationContext,
    tenants: Mapping[str, list[RawTable]],
    dsns: Mapping[str, str],
    dialect: Dialect,
    watch: Mapping[str, Any],
    now: datetime,
    config: AlertingConfig,
) -> Findings:
    """Read every tenant, advance each table's window, and say which tables drift."""
    kept: dict[str, Any] = dict(watch.get("tables") or {})
    findings = Findings()
    client = context.resources.fivetran.get_client()
    problems: list[str] = []
    warehouse = context.resources.warehouse
    for tenant, tables in sorted(tenants.items()):
        dsn = dsns.get(tenant)
        looks: dict[str, Look] = {}
        if dsn is None:
            problems.append(f"{tenant}: no DSN in JOBS_DB_DSNS")
        else:
            try:
                looks = read_tenant(dsn, tables, warehouse, dialect, client)
            except Exception as exc:  # one unreachable tenant must not hide the others
                problems.append(f"{tenant}: {type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
        for table in tables:
            where = where_of(table)
            look = looks.get(where)
            if look is None:
                findings.unknown.add(where)
                continue
            state, judgement = advance(kept.get(where), look)
            strikes = int(state.get("strikes", 0))
            first = kept.get(where, {}).get("drifting_since") if strikes else None
            if strikes:
                state["drifting_since"] = first or now.isoformat()
            kept[where] = state
            if judgement is None or not judgement.conclusive:
                findings.unknown.add(where)
                continue
            if judgement.drifted:
                since = parse_time(state["drifting_since"]) or now
                alert = drift_alert(table, judgement, strikes, since, config)
                if alert is not None:
                    findings.problems[where] = alert
    if problems:
        context.log.warning(
            "raw-vs-source drift: cannot read some tenants: %s",
            redact("; ".join(problems), known_secrets()),
        )
    findings.state = {"tables": kept}
    return findings


def build_drift_sensor(
    specs: Iterable[dg.AssetSpec],
    config: AlertingConfig,
    *,
    dsns: Dsns = settings_dsns,
    dialect: Dialect = "duckdb",
    clock: Clock = utc_now,
    minimum_interval_seconds: int = 300,
) -> dg.SensorDefinition:
    """``alerts__raw_source_drift_sensor``: Jobs DB raw tables their source has left behind.

    Args:
        specs: the code location's asset specs (the Jobs DB raw tables are found among them).
        config: the alerting policy.
        dsns: ``tenant -> DSN`` of the Jobs DB databases, asked at every tick.
        dialect: the warehouse's (how raw tables are named and hashed).
        clock: the time incidents start at.
        minimum_interval_seconds: how often both ends are counted (a scan of each table).
    """
    tenants = tenant_tables(specs)

    def measure(
        context: dg.SensorEvaluationContext, watch: dict[str, Any], now: datetime
    ) -> Findings:
        return measure_drift(context, tenants, dsns(), dialect, watch, now, config)

    return build_alert_sensor(
        SENSOR_NAME,
        "Jobs DB raw tables whose live rows and key checksums fall behind their source while"
        " the connector reports successful syncs (counted over whole sync windows).",
        measure,
        config,
        clock=clock,
        minimum_interval_seconds=minimum_interval_seconds,
        required_resource_keys={"fivetran", "warehouse"},
    )
