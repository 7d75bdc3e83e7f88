"""Making the account match the desired state, one documented Fivetran call per setting.

Per connection, columns change first, then tables, then the schema config, and the
connection's own settings last: a connection is created paused, and unpausing it is the step
that lets its first sync run, so by then its tables and columns already hash and exclude what
they must. When any schema setting of a connection was refused, its unpause is held back for
the same reason. A refusal (409 ``IllegalState`` for a read-only table, say) is reported with
Fivetran's code and message and never retried; the other changes still go ahead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analytics_platform.ingest.connectors.api import FivetranApi, FivetranApiError
from analytics_platform.ingest.connectors.desired import DesiredState
from analytics_platform.ingest.connectors.plan import (
    Change,
    ConnectionPlan,
    Plan,
    read_plan,
    render_plan,
)


@dataclass(frozen=True)
class Outcome:
    """What became of one change: made, refused (with Fivetran's answer) or held back."""

    connection: ConnectionPlan
    change: Change
    error: FivetranApiError | None = None
    held: str | None = None

    @property
    def made(self) -> bool:
        """Whether the change reached the account."""
        return self.error is None and self.held is None

    def describe(self) -> str:
        """One line for the report."""
        text = self.change.describe(self.connection.source_schema)
        if self.error is not None:
            return f"{text}: REFUSED {self.error.status} {self.error.code}: {self.error.message}"
        if self.held is not None:
            return f"{text}: HELD ({self.held})"
        return f"{text}: done"


@dataclass
class ApplyReport:
    """Every outcome of one apply, and what a read afterwards still found different."""

    plan: Plan
    outcomes: list[Outcome] = field(default_factory=list)
    remaining: Plan | None = None

    @property
    def made(self) -> int:
        """Changes the account accepted."""
        return sum(1 for o in self.outcomes if o.made)

    @property
    def failed(self) -> int:
        """Changes refused or held back, plus problems no call could fix."""
        return sum(1 for o in self.outcomes if not o.made) + self.plan.problems

    @property
    def ok(self) -> bool:
        """Whether the account now matches the desired state."""
        return self.failed == 0 and (self.remaining is None or not self.remaining.changes)

    def lines(self) -> list[str]:
        """The report as lines of text."""
        if not self.plan.changes and not self.plan.problems:
            return ["No changes: the account already matches fivetran.yaml; nothing was changed."]
        lines: list[str] = []
        for conn in self.plan.connections:
            mine = [o for o in self.outcomes if o.connection is conn]
            if not mine and not conn.problems:
                continue
            lines.append(f"~ {conn.schema} ({conn.connection_id})")
            lines += [f"    {o.describe()}" for o in mine]
            lines += [f"    ! {p}" for p in conn.problems]
        lines += [
            f"! {schema}: no connection of the account lands in it" for schema in self.plan.missing
        ]
        refused = sum(1 for o in self.outcomes if o.error is not None)
        held = sum(1 for o in self.outcomes if o.held is not None)
        lines.append(
            f"Apply: {self.made} change(s) made, {refused} refused, {held} held back,"
            f" {self.plan.problems} problem(s) no call can fix."
        )
        if self.remaining is not None and self.remaining.changes:
            lines.append("Still different after apply:")
            lines += [f"  {line}" for line in render_plan(self.remaining)[:-1]]
        elif self.ok:
            lines.append("The account now matches fivetran.yaml.")
        return lines


def _column_bodies(changes: list[Change]) -> dict[tuple[str, str], dict[str, bool]]:
    """One PATCH body per column, holding every field of it that changes."""
    bodies: dict[tuple[str, str], dict[str, bool]] = {}
    for change in changes:
        assert change.table is not None and change.column is not None
        bodies.setdefault((change.table, change.column), {})[change.field] = change.desired
    return bodies


def apply_connection(api: FivetranApi, conn: ConnectionPlan) -> list[Outcome]:
    """Make one connection's changes, in the order the module docstring gives."""
    outcomes: list[Outcome] = []
    cid, schema = conn.connection_id, conn.source_schema
    by_level: dict[str, list[Change]] = {}
    for change in conn.changes:
        by_level.setdefault(change.level, []).append(change)
    column_changes = by_level.get("column", [])
    for (table, column), body in _column_bodies(column_changes).items():
        mine = [c for c in column_changes if (c.table, c.column) == (table, column)]
        try:
            api.update_column(cid, schema, table, column, body)
            outcomes += [Outcome(conn, c) for c in mine]
        except FivetranApiError as exc:
            outcomes += [Outcome(conn, c, error=exc) for c in mine]
    for change in by_level.get("table", []):
        assert change.table is not None
        try:
            api.update_table(cid, schema, change.table, {change.field: change.desired})
            outcomes.append(Outcome(conn, change))
        except FivetranApiError as exc:
            outcomes.append(Outcome(conn, change, error=exc))
    for change in by_level.get("schema_config", []):
        try:
            api.update_schema_config(cid, {change.field: change.desired})
            outcomes.append(Outcome(conn, change))
        except FivetranApiError as exc:
            outcomes.append(Outcome(conn, change, error=exc))
    schema_failed = bool(conn.problems) or any(not o.made for o in outcomes)
    body: dict[str, object] = {}
    pending: list[Change] = []
    for change in by_level.get("connection", []):
        if change.field == "paused" and change.desired is False and schema_failed:
            outcomes.append(
                Outcome(conn, change, held="stays paused: its schema config is not as desired")
            )
            continue
        body[change.field] = change.desired
        pending.append(change)
    if body:
        try:
            api.update_connection(cid, body)
            outcomes += [Outcome(conn, c) for c in pending]
        except FivetranApiError as exc:
            outcomes += [Outcome(conn, c, error=exc) for c in pending]
    return outcomes


def apply(api: FivetranApi, desired: DesiredState, group_id: str | None = None) -> ApplyReport:
    """Read the account, change what differs, and read it again to confirm.

    Idempotent: when nothing differs no call changes anything, and the report says so.
    """
    plan = read_plan(api, desired, group_id)
    report = ApplyReport(plan)
    if not plan.changes:
        return report
    for conn in plan.connections:
        report.outcomes += apply_connection(api, conn)
    report.remaining = read_plan(api, desired, group_id)
    return report
