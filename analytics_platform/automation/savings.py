"""The savings mart: what the planner's builds cost and what they bought, per asset and day.

dbt cannot read the Dagster instance, so this mart is a Python asset. Once a day it reads, for
every planned asset (one with a declared policy), its materializations of the last
:data:`LOOKBACK_DAYS` days with their ``fieldforce/data_time`` (which sync of each connector
table the build read) and dagster-dbt's ``Execution Duration`` (dbt's own node time, so
warehouse seconds are not blurred by dbt's start-up), and the syncs that landed in the connector
tables upstream. :func:`daily_figures` turns those records into rows, and the asset rewrites
those days of ``ops.automation_savings`` in the platform's warehouse (DuckDB locally, Snowflake
in production) through the ``warehouse`` resource.

A sync is identified by its ``succeeded_at``: every table one sync lands carries the same one.
One cohesive module: the figures, the instance reads they need and the SQL that writes them
change together whenever a column of the mart does.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg

from analytics_platform.automation.datatime import DATA_TIME_METADATA_KEY, sync_time
from analytics_platform.automation.planner_sensor import PLANNER_TRIGGER
from analytics_platform.automation.policy import (
    POLICY_METADATA_KEY,
    Cron,
    format_policy,
    policy_of,
)
from analytics_platform.automation.selection import ON_CRON, REBUILD_TAG, TRIGGER_TAG
from analytics_platform.freshness import DAILY_REPORT_WINDOW

SAVINGS_KEY = dg.AssetKey(["marts", "ops", "automation_savings"])
RELATION = "ops.automation_savings"
"""Where the rows land, the schema of the dbt ``ops`` marts."""
LOOKBACK_DAYS = 7
"""Days rewritten by each build: a day's figures settle once its syncs' windows have run out."""
POLICY = Cron("30 0 * * *", "UTC")
"""Daily, just after midnight UTC, when the previous (UTC) day is complete."""
EXECUTION_DURATION_KEY = "Execution Duration"
"""dagster-dbt's materialization metadata: the node's own execution time in seconds."""

COLUMNS = (
    ("asset_key", "varchar"),
    ("activity_date", "date"),
    ("builds", "integer"),
    ("planner_builds", "integer"),
    ("syncs_absorbed", "integer"),
    ("syncs_absorbed_per_build", "double"),
    ("syncs_landed", "integer"),
    ("syncs_in_window", "integer"),
    ("windows_met", "double"),
    ("warehouse_s", "double"),
)
"""The table's columns: one row per asset and UTC day."""


@dataclass(frozen=True)
class BuildRecord:
    """One materialization of a planned asset."""

    at: float
    """When it was materialized (epoch seconds)."""
    data_time: Mapping[str, float] | None
    """Per connector table (user string), the ``succeeded_at`` of the sync it reflects."""
    warehouse_s: float | None = None
    """dbt's node time (``Execution Duration``); None when not recorded."""
    by_planner: bool = False
    """Whether the planner's run built it."""


@dataclass
class DayFigures:
    """One row of the mart: one asset on one UTC day.

    Builds, syncs absorbed and warehouse seconds count the builds of that day; syncs landed and
    in window count the syncs that landed that day whose verdict is known (reflected, or not
    reflected and past the warn window).
    """

    asset_key: str
    activity_date: date
    builds: int = 0
    planner_builds: int = 0
    syncs_absorbed: int = 0
    syncs_landed: int = 0
    syncs_in_window: int = 0
    warehouse_s: float = 0.0

    @property
    def syncs_absorbed_per_build(self) -> float | None:
        """Distinct syncs newly reflected per build (None: no build that day)."""
        return self.syncs_absorbed / self.builds if self.builds else None

    @property
    def windows_met(self) -> float | None:
        """Share of the day's syncs reflected within the warn window (None: none judged)."""
        return self.syncs_in_window / self.syncs_landed if self.syncs_landed else None

    def row(self) -> tuple[Any, ...]:
        """The values in :data:`COLUMNS` order."""
        return (
            self.asset_key,
            self.activity_date,
            self.builds,
            self.planner_builds,
            self.syncs_absorbed,
            self.syncs_absorbed_per_build,
            self.syncs_landed,
            self.syncs_in_window,
            self.windows_met,
            round(self.warehouse_s, 3),
        )


def _newly(before: float | None, after: float | None, ts: float) -> bool:
    """Whether a sync at ``ts`` is reflected after a build and was not before it."""
    return after is not None and ts <= after and (before is None or before < ts)


def _day(ts: float) -> date:
    return datetime.fromtimestamp(ts, tz=UTC).date()


def daily_figures(
    asset_key: str,
    builds: Sequence[BuildRecord],
    syncs: Mapping[str, Iterable[float]],
    warn_s: float | None,
    now: float,
    previous: BuildRecord | None = None,
) -> list[DayFigures]:
    """Per UTC day, one asset's builds, syncs absorbed, windows met and warehouse seconds.

    Args:
        asset_key: the asset (user string).
        builds: its materializations in the period, any order.
        syncs: per connector table, the ``succeeded_at`` of each sync landed in the period.
        warn_s: the asset's warn window in seconds (None: no window, so no verdicts).
        now: the time of the computation: an unreflected sync is missed once its window ran out,
            and not judged before.
        previous: its last build before the period, the baseline of the first build's absorbed
            syncs (None: none, so the first build absorbs every sync before it).
    """
    ordered = sorted(builds, key=lambda build: build.at)
    upstream = {table for build in ordered for table in (build.data_time or {})}
    if previous is not None:
        upstream |= set(previous.data_time or {})
    tables_of: dict[float, set[str]] = {}
    for table in upstream:
        for ts in syncs.get(table, ()):
            tables_of.setdefault(ts, set()).add(table)
    days: dict[date, DayFigures] = {}

    def on(day: date) -> DayFigures:
        return days.setdefault(day, DayFigures(asset_key, day))

    # Builds: each absorbs the syncs its data time newly reflects against the build before it.
    before = dict(previous.data_time or {}) if previous is not None else {}
    for build in ordered:
        absorbed = 0
        if build.data_time is not None:
            absorbed = sum(
                1
                for ts, tables in tables_of.items()
                if any(_newly(before.get(t), build.data_time.get(t), ts) for t in tables)
            )
            before |= build.data_time
        figures = on(_day(build.at))
        figures.builds += 1
        figures.planner_builds += int(build.by_planner)
        figures.syncs_absorbed += absorbed
        figures.warehouse_s += build.warehouse_s or 0.0
    # Syncs: reflected by the first build whose data time holds it on each of its tables that
    # the build read; judged against the warn window counted from the sync's succeeded_at.
    if warn_s is not None:
        baseline = previous.data_time if previous is not None and previous.data_time else {}
        for ts, tables in tables_of.items():
            if all(baseline.get(t, float("-inf")) >= ts for t in tables):
                continue  # reflected before the period: judged in an earlier one
            reflected = next(
                (
                    build.at
                    for build in ordered
                    if build.data_time
                    and (read := tables & set(build.data_time))
                    and all(build.data_time[t] >= ts for t in read)
                ),
                None,
            )
            if reflected is None and now - ts <= warn_s:
                continue  # still within its window: no verdict yet
            met = reflected is not None and reflected - ts <= warn_s
            figures = on(_day(ts))
            figures.syncs_landed += 1
            figures.syncs_in_window += int(met)
    return [days[day] for day in sorted(days)]


def _metadata_value(entry: dg.EventLogEntry, key: str) -> Any:
    materialization = entry.asset_materialization
    value = materialization.metadata.get(key) if materialization else None
    return value.value if isinstance(value, dg.MetadataValue) else value


def _records(
    instance: dg.DagsterInstance, key: dg.AssetKey, after: float
) -> list[dg.EventLogRecord]:
    """Every materialization of ``key`` after ``after``, oldest first (paged)."""
    records: list[dg.EventLogRecord] = []
    cursor = None
    while True:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_timestamp=after),
            limit=1000,
            cursor=cursor,
            ascending=True,
        )
        records += result.records
        if not result.has_more:
            return records
        cursor = result.cursor


def _build(entries: Sequence[dg.EventLogEntry], planner_runs: set[str]) -> BuildRecord:
    """One build from the materializations one run reported for an asset.

    A daily fact's build reports one materialization per day it rewrote, each with the dbt
    node's data time and execution time: they are one build, and its node time counts once.
    """
    data_times = [_metadata_value(entry, DATA_TIME_METADATA_KEY) for entry in entries]
    durations = [_metadata_value(entry, EXECUTION_DURATION_KEY) for entry in entries]
    data_time = next((value for value in data_times if isinstance(value, Mapping)), None)
    seconds = [float(value) for value in durations if isinstance(value, int | float)]
    return BuildRecord(
        at=max(entry.timestamp for entry in entries),
        data_time=(
            {str(k): _epoch(str(v)) for k, v in data_time.items()}
            if data_time is not None
            else None
        ),
        warehouse_s=max(seconds) if seconds else None,
        by_planner=entries[0].run_id in planner_runs,
    )


def _by_run(entries: Sequence[dg.EventLogEntry]) -> list[list[dg.EventLogEntry]]:
    """Materializations grouped by the run that reported them (a runless report is its own)."""
    groups: dict[str, list[dg.EventLogEntry]] = {}
    for index, entry in enumerate(entries):
        groups.setdefault(entry.run_id or f"runless-{index}", []).append(entry)
    return list(groups.values())


def _epoch(text: str) -> float:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def warn_seconds(spec: dg.AssetSpec) -> float | None:
    """The asset's warn window (from the FreshnessPolicy its declaration derived), in seconds."""
    window = getattr(spec.freshness_policy, "warn_window", None)
    return window.to_timedelta().total_seconds() if window is not None else None


def read_figures(
    instance: dg.DagsterInstance,
    specs: Iterable[dg.AssetSpec],
    now: float,
    lookback_days: int = LOOKBACK_DAYS,
) -> list[DayFigures]:
    """The mart's rows for the last ``lookback_days`` UTC days, read from the instance.

    Args:
        instance: the Dagster instance.
        specs: the code location's specs; those with a declared policy are reported.
        now: the time of the computation (epoch seconds).
        lookback_days: whole UTC days before today included, today too.
    """
    start_day = _day(now) - timedelta(days=lookback_days)
    start = datetime.combine(start_day, datetime.min.time(), tzinfo=UTC).timestamp()
    planned = {
        spec.key: spec for spec in specs if policy_of(spec) is not None and spec.key != SAVINGS_KEY
    }
    entries = {key: [r.event_log_entry for r in _records(instance, key, start)] for key in planned}
    run_ids = {entry.run_id for found in entries.values() for entry in found if entry.run_id}
    planner_runs = (
        {
            record.dagster_run.run_id
            for record in instance.get_run_records(dg.RunsFilter(run_ids=sorted(run_ids)))
            if record.dagster_run.tags.get(TRIGGER_TAG) == PLANNER_TRIGGER
        }
        if run_ids
        else set()
    )
    previous: dict[dg.AssetKey, BuildRecord] = {}
    for key in planned:
        before = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, before_timestamp=start), limit=1
        ).records
        if before:
            previous[key] = _build([before[0].event_log_entry], planner_runs)
    builds = {
        key: [_build(run, planner_runs) for run in _by_run(found)] for key, found in entries.items()
    }
    # Syncs of the day before too: the period's first build may absorb them (their verdicts
    # belong to that day, which is not rewritten).
    lead_in = start - timedelta(days=1).total_seconds()
    tables = {
        table
        for key in planned
        for build in [*builds[key], *([previous[key]] if key in previous else [])]
        for table in (build.data_time or {})
    }
    syncs = {
        table: [
            sync_time(record.event_log_entry)
            for record in _records(instance, dg.AssetKey.from_user_string(table), lead_in)
        ]
        for table in sorted(tables)
    }
    rows: list[DayFigures] = []
    for key, spec in sorted(planned.items(), key=lambda item: item[0].to_user_string()):
        rows += daily_figures(
            key.to_user_string(),
            builds[key],
            syncs,
            warn_seconds(spec),
            now,
            previous.get(key),
        )
    return [row for row in rows if row.activity_date >= start_day]


def _literal(value: Any) -> str:
    """A SQL literal both DuckDB and Snowflake read (the values are the platform's own)."""
    if value is None:
        return "null"
    if isinstance(value, date):
        return f"cast('{value.isoformat()}' as date)"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def write_statements(rows: Sequence[DayFigures], first_day: date) -> list[str]:
    """The SQL that rewrites the days from ``first_day`` on (pure, so a test can read it)."""
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
    statements = [
        f"create schema if not exists {RELATION.split('.')[0]}",
        f"create table if not exists {RELATION} ({columns})",
        f"delete from {RELATION} where activity_date >= {_literal(first_day)}",
    ]
    names = ", ".join(name for name, _ in COLUMNS)
    for chunk in range(0, len(rows), 500):
        values = ",\n".join(
            "(" + ", ".join(_literal(v) for v in row.row()) + ")"
            for row in rows[chunk : chunk + 500]
        )
        statements.append(f"insert into {RELATION} ({names}) values\n{values}")
    return statements


def build_savings_asset(specs: Sequence[dg.AssetSpec]) -> dg.AssetsDefinition:
    """``marts/ops/automation_savings``: one row per planned asset and UTC day (see module).

    Args:
        specs: the code location's resolved specs (their policies and freshness windows).
    """
    specs = list(specs)

    @dg.asset(
        key=SAVINGS_KEY,
        group_name="marts_ops",
        kinds={"python"},
        required_resource_keys={"warehouse"},
        metadata={POLICY_METADATA_KEY: format_policy(POLICY)},
        tags={REBUILD_TAG: ON_CRON},
        automation_condition=dg.AutomationCondition.on_cron(POLICY.cron, POLICY.timezone),
        # A daily report's window, as the executive summary's: a day, and two hours' grace.
        freshness_policy=DAILY_REPORT_WINDOW.policy(),
        # The embedded DuckDB warehouse takes one writer at a time: a sync measuring or a dbt
        # build holding it is waited out, not failed on.
        retry_policy=dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL),
        description=(
            "Per planned asset and UTC day: builds, syncs absorbed per build, share of syncs"
            " reflected within the warn window, and dbt's warehouse seconds (from the instance)."
        ),
    )
    def automation_savings(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        now = datetime.now(UTC).timestamp()
        rows = read_figures(context.instance, specs, now)
        first_day = _day(now) - timedelta(days=LOOKBACK_DAYS)
        with context.resources.warehouse.get_connection() as connection:
            cursor = connection.cursor()
            try:
                for statement in write_statements(rows, first_day):
                    cursor.execute(statement)
            finally:
                cursor.close()
            commit = getattr(connection, "commit", None)
            if commit is not None:
                commit()
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": len(rows),
                "fieldforce/first_day": first_day.isoformat(),
                "fieldforce/assets": len({row.asset_key for row in rows}),
            }
        )

    return automation_savings


def build_defs(specs: Sequence[dg.AssetSpec]) -> dg.Definitions:
    """The savings mart as definitions to merge into the code location."""
    return dg.Definitions(assets=[build_savings_asset(specs)])
