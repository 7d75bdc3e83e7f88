"""Fivetran rows of the alert matrix: sync delay and sync failures, asked of the Fivetran API.

* Sync delay: minutes past the moment a connector's next sync was due, from its own schedule
  (``sync_frequency``) and its last successful sync (``succeeded_at``; ``created_at`` before
  the first one). Past the rule's warning threshold it warns, past its critical one it pages
  (``alerting.yaml``, held to :data:`analytics_platform.freshness.SYNC_WINDOW`). A paused
  connector is not late: pausing is the design's deliberate step while a breaking schema
  change is handled.
* Sync failures: consecutive failed syncs, counted from the sync history: the ``sync_end``
  events of the Platform Connector log (:mod:`~analytics_platform.alerts.platform_log`), read in
  order and folded into the cursor, so three failures in two seconds count three, whatever the
  sensor's tick saw, and a daemon restart continues the count. The log lands on its own
  schedule, so the API's latest ``failed_at`` / ``succeeded_at`` are followed too (a tick's
  view, :func:`count_failures`), and the larger count of a streak both still agree on wins
  (:func:`current_streak`). One failure warns, three in a row are critical; the next
  successful sync resolves.

A connector the API cannot be asked about this tick is "unknown": its incidents stay open,
never resolved by an outage of the thing that reports them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import dagster as dg

from analytics_platform.alerts.incidents import Findings, build_alert_sensor, known_secrets
from analytics_platform.alerts.platform_log import SYNC_END, LogPosition, read_log, sync_outcome
from analytics_platform.alerts.policy import AlertingConfig, Threshold, classify
from analytics_platform.alerts.render import Alert, redact
from analytics_platform.ingest.changes import Dialect
from analytics_platform.ingest.checks import (
    Clock,
    connector_schedule,
    minutes_late,
    parse_time,
    raw_tables,
    utc_now,
)

DELAY_RULE = "fivetran_sync_delay"
FAILURE_RULE = "fivetran_sync_failure"
MAX_ERROR_CHARS = 300
HISTORY_LOOKBACK = timedelta(hours=24)
"""How much sync history a fresh cursor reads: older failures are not part of a live streak."""
HISTORY_KEY = "~sync_history"
"""The failure sensor's ``watch`` entry for the log (``~`` is in no Fivetran connector id)."""


def connectors_of(specs: Iterable[dg.AssetSpec]) -> dict[str, str]:
    """``connector_id -> destination schema`` of the Fivetran tables among ``specs``."""
    return {table.connector_id: table.schema for table in raw_tables(specs)}


def where_of(schema: str) -> str:
    """The stable place of a connector's alerts (and the asset folder its link opens)."""
    return f"fivetran/{schema}"


def _details_by_connector(
    context: dg.SensorEvaluationContext, connectors: Mapping[str, str]
) -> tuple[dict[str, Mapping[str, Any]], set[str]]:
    """Each connector's API object; the ``where`` of those that could not be read."""
    client = context.resources.fivetran.get_client()
    found: dict[str, Mapping[str, Any]] = {}
    unknown: set[str] = set()
    problems: list[str] = []
    for connector_id, schema in sorted(connectors.items()):
        try:
            found[connector_id] = client.get_connector_details(connector_id)
        except Exception as exc:  # one unreachable connector must not hide the others
            unknown.add(where_of(schema))
            problems.append(f"{connector_id}: {type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
    if problems:
        text = redact("; ".join(problems), known_secrets())
        if not found:
            # Nothing measured: fail the tick (visible in the UI); incidents stay as they were.
            raise dg.Failure(f"cannot read any Fivetran connector from the API: {text}")
        context.log.warning("cannot read some Fivetran connectors: %s", text)
    return found, unknown


def delay_alert(
    connector_id: str,
    schema: str,
    details: Mapping[str, Any],
    now: datetime,
    config: AlertingConfig,
) -> Alert | None:
    """The delay alert of one connector at ``now`` (None: on schedule, paused or not set up).

    A connector in its first (historical) sync is not late either: its first sync of a large
    source takes hours by design, and its failures, if any, are the failure row's.
    """
    schedule = connector_schedule(details)
    if schedule is None or schedule.paused or not schedule.connected:
        return None
    status = details.get("status") or {}
    if status.get("is_historical_sync") and schedule.sync_state == "syncing":
        return None
    reference = schedule.last_success or schedule.created_at
    if reference is None:
        return None
    late = minutes_late(reference, schedule.frequency_minutes, now)
    severity = classify(DELAY_RULE, late, config)
    if severity is None:
        return None
    due = reference.timestamp() + schedule.frequency_minutes * 60
    last = (
        f"last successful sync {schedule.last_success:%Y-%m-%d %H:%M} UTC"
        if schedule.last_success
        else "no successful sync yet"
    )
    return Alert(
        rule=DELAY_RULE,
        severity=severity,
        what=(
            f"Fivetran connector {connector_id} is {late:.0f} min behind its"
            f" {schedule.frequency_minutes:.0f}-min schedule ({last})"
        ),
        where=where_of(schema),
        since=datetime.fromtimestamp(due, now.tzinfo),
        asset_key=("fivetran", schema),
        details={
            "connector_id": connector_id,
            "minutes_late": round(late, 1),
            "sync_frequency_minutes": schedule.frequency_minutes,
            "last_succeeded_at": schedule.last_success.isoformat()
            if schedule.last_success
            else None,
            "sync_state": schedule.sync_state,
        },
    )


def count_failures(
    previous: Mapping[str, Any] | None, succeeded_at: str | None, failed_at: str | None
) -> dict[str, Any]:
    """Update a connector's consecutive-failure count from its latest API timestamps.

    The API keeps only the latest ``succeeded_at`` and ``failed_at``: a newer ``failed_at`` is
    one more failure, a newer ``succeeded_at`` that is also the latest outcome resets the
    count. On first sight a connector whose latest outcome is a failure counts one (how many
    came before is not knowable from the API).
    """
    succeeded, failed = parse_time(succeeded_at), parse_time(failed_at)
    if previous is None:
        failing = failed is not None and (succeeded is None or failed > succeeded)
        return {
            "succeeded_at": succeeded_at,
            "failed_at": failed_at,
            "consecutive": 1 if failing else 0,
            "first_failed_at": failed_at if failing else None,
        }
    seen_success = parse_time(previous.get("succeeded_at"))
    seen_failure = parse_time(previous.get("failed_at"))
    new_failure = failed is not None and (seen_failure is None or failed > seen_failure)
    new_success = succeeded is not None and (seen_success is None or succeeded > seen_success)
    consecutive = int(previous.get("consecutive", 0))
    first = previous.get("first_failed_at")
    if new_failure and (not new_success or (succeeded is not None and failed > succeeded)):
        if new_success:
            # A success then a failure since the last tick: the streak starts again.
            consecutive, first = 1, failed_at
        else:
            consecutive, first = consecutive + 1, first or failed_at
    elif new_success:
        consecutive, first = 0, None
    return {
        "succeeded_at": succeeded_at if new_success else previous.get("succeeded_at"),
        "failed_at": failed_at if new_failure else previous.get("failed_at"),
        "consecutive": consecutive,
        "first_failed_at": first,
    }


def fold_history(
    previous: Mapping[str, Any] | None, outcomes: Iterable[tuple[datetime, bool]]
) -> dict[str, Any]:
    """Fold sync outcomes (``(when, succeeded)``, in log order) into a connector's streak.

    The streak is ``{"consecutive", "first_failed_at", "last_at"}``: the failed syncs since
    the last successful one, the first of them, and the newest outcome folded. An outcome not
    newer than ``last_at`` is history already folded (a row that landed late) and is skipped.
    """
    streak = dict(previous or {"consecutive": 0, "first_failed_at": None, "last_at": None})
    for when, succeeded in sorted(outcomes, key=lambda outcome: outcome[0]):
        last = parse_time(streak.get("last_at"))
        if last is not None and when <= last:
            continue
        if succeeded:
            streak["consecutive"], streak["first_failed_at"] = 0, None
        else:
            streak["consecutive"] = int(streak.get("consecutive") or 0) + 1
            streak["first_failed_at"] = streak.get("first_failed_at") or when.isoformat()
        streak["last_at"] = when.isoformat()
    return streak


def current_streak(
    ticked: Mapping[str, Any],
    history: Mapping[str, Any] | None,
    succeeded_at: str | None,
) -> dict[str, Any]:
    """The streak to alert on: the tick's count, or the history's when it knows more.

    ``ticked`` is :func:`count_failures`' view (the API's latest timestamps, tick by tick);
    ``history`` is :func:`fold_history`'s over the log. The history's count holds only while
    the API's latest outcome is a failure and its streak began after the API's last success
    (a success the log has not delivered yet ends it). When it counts more failures than the
    ticks saw, its count and its first failure are the streak's; otherwise the tick's stand
    (their timestamps are the API's, the ones the connector shows).
    """
    if int(ticked.get("consecutive", 0)) == 0 or not history:
        return dict(ticked)
    first = parse_time(history.get("first_failed_at"))
    succeeded = parse_time(succeeded_at)
    counted = int(history.get("consecutive") or 0)
    current = first is not None and (succeeded is None or first > succeeded)
    if not current or counted <= int(ticked.get("consecutive", 0)):
        return dict(ticked)
    return {**ticked, "consecutive": counted, "first_failed_at": history["first_failed_at"]}


def read_sync_history(
    connection: Any,
    kept: Mapping[str, Any] | None,
    now: datetime,
    dialect: Dialect,
) -> dict[str, Any]:
    """Advance the failure sensor's log state: its read position and each connector's streak.

    A fresh state reads :data:`HISTORY_LOOKBACK` of history, so the first tick after a deploy
    already knows a streak in progress.
    """
    kept = dict(kept or {})
    position = LogPosition.from_json(kept.get("position"))
    if position is None:
        events, position = LogPosition().advance(
            read_log(connection, [SYNC_END], now - HISTORY_LOOKBACK, dialect)
        )
    else:
        events, position = position.advance(
            read_log(connection, [SYNC_END], position.since(), dialect)
        )
    outcomes: dict[str, list[tuple[datetime, bool]]] = {}
    for event in events:
        succeeded = sync_outcome(event)
        if succeeded is not None:
            outcomes.setdefault(event.connection_id, []).append((event.at, succeeded))
    streaks = dict(kept.get("streaks") or {})
    for connector_id, seen in outcomes.items():
        streaks[connector_id] = fold_history(streaks.get(connector_id), seen)
    return {"position": position.to_json(), "streaks": streaks}


def failure_alert(
    connector_id: str,
    schema: str,
    details: Mapping[str, Any],
    streak: Mapping[str, Any],
    config: AlertingConfig,
) -> Alert | None:
    """The failure alert of one connector from its streak (None: its latest sync succeeded)."""
    consecutive = int(streak.get("consecutive", 0))
    since = parse_time(streak.get("first_failed_at"))
    severity = classify(FAILURE_RULE, consecutive, config)
    if severity is None or since is None:
        return None
    tasks = (details.get("status") or {}).get("tasks") or []
    error = "; ".join(str(task.get("message", task)) for task in tasks if isinstance(task, dict))
    plural = "s" if consecutive > 1 else ""
    return Alert(
        rule=FAILURE_RULE,
        severity=severity,
        what=f"Fivetran connector {connector_id} failed {consecutive} sync{plural} in a row",
        where=where_of(schema),
        since=since,
        asset_key=("fivetran", schema),
        details={
            "connector_id": connector_id,
            "consecutive_failures": consecutive,
            "last_failed_at": streak.get("failed_at"),
            "last_succeeded_at": streak.get("succeeded_at"),
            "error": error[:MAX_ERROR_CHARS] or None,
        },
    )


def _bounds(config: AlertingConfig) -> str:
    """The delay rule's thresholds as the sensor's description says them."""
    rule = config.rule(DELAY_RULE)
    said = [
        f">{condition.above:g} min {label}"
        for condition, label in ((rule.warning, "Slack"), (rule.critical, "page"))
        if isinstance(condition, Threshold) and condition.above is not None
    ]
    return ", ".join(said) or "thresholds in alerting.yaml"


def build_delay_sensor(
    connectors: Mapping[str, str], config: AlertingConfig, *, clock: Clock = utc_now
) -> dg.SensorDefinition:
    """``alerts__fivetran_sync_delay_sensor``: connectors behind their own schedule."""

    def measure(
        context: dg.SensorEvaluationContext, watch: dict[str, Any], now: datetime
    ) -> Findings:
        found, unknown = _details_by_connector(context, connectors)
        findings = Findings(unknown=unknown)
        for connector_id, details in found.items():
            alert = delay_alert(connector_id, connectors[connector_id], details, now, config)
            if alert is not None:
                findings.problems[alert.where] = alert
        return findings

    return build_alert_sensor(
        "alerts__fivetran_sync_delay_sensor",
        f"Fivetran sync delay against each connector's schedule: {_bounds(config)}.",
        measure,
        config,
        clock=clock,
        minimum_interval_seconds=60,
        required_resource_keys={"fivetran"},
    )


def build_failure_sensor(
    connectors: Mapping[str, str],
    config: AlertingConfig,
    *,
    dialect: Dialect = "duckdb",
    clock: Clock = utc_now,
) -> dg.SensorDefinition:
    """``alerts__fivetran_sync_failure_sensor``: consecutive failed syncs per connector.

    Reads the API (``fivetran``) and the Platform Connector log (``warehouse``). A tick that
    cannot read the log counts from the API alone and keeps the log state for the next one.
    """

    def measure(
        context: dg.SensorEvaluationContext, watch: dict[str, Any], now: datetime
    ) -> Findings:
        found, unknown = _details_by_connector(context, connectors)
        findings = Findings(unknown=unknown, state=dict(watch))
        try:
            with context.resources.warehouse.get_connection() as connection:
                log = read_sync_history(connection, watch.get(HISTORY_KEY), now, dialect)
            findings.state[HISTORY_KEY] = log
        except Exception as exc:  # the log is a second witness: its outage must not mute the API
            text = redact(f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS], known_secrets())
            context.log.warning("cannot read the sync history from the warehouse: %s", text)
            log = dict(watch.get(HISTORY_KEY) or {})
        history = log.get("streaks") or {}
        for connector_id, details in found.items():
            ticked = count_failures(
                watch.get(connector_id), details.get("succeeded_at"), details.get("failed_at")
            )
            findings.state[connector_id] = ticked
            streak = current_streak(ticked, history.get(connector_id), details.get("succeeded_at"))
            alert = failure_alert(connector_id, connectors[connector_id], details, streak, config)
            if alert is not None:
                findings.problems[alert.where] = alert
        return findings

    return build_alert_sensor(
        "alerts__fivetran_sync_failure_sensor",
        "Fivetran sync failures counted from the sync history: 1 failure Slack, 3 consecutive"
        " page; a success resolves.",
        measure,
        config,
        clock=clock,
        minimum_interval_seconds=30,
        required_resource_keys={"fivetran", "warehouse"},
    )
