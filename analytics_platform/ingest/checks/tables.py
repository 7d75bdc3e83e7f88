"""What the raw-table checks look at: the landed tables, the check names, one outcome.

A raw table is one enabled table of a Fivetran connector, found through dagster-fivetran's
spec metadata. An outcome is one evaluated check, reported by the sensor (no run) or yielded
by the check definition inside a run, so both paths say the same thing.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from dagster_fivetran.translator import FivetranMetadataSet

RAW_FRESHNESS_CHECK = "raw_freshness"
RAW_ANOMALY_CHECK = "raw_row_count_anomaly"
RAW_CHECK_NAMES = frozenset({RAW_FRESHNESS_CHECK, RAW_ANOMALY_CHECK})
ROW_COUNT_DELTA = "dagster/row_count_delta"
"""Materialization metadata the observers report: rows one sync wrote into the table."""


Clock = Callable[[], datetime]
"""Where checks and alert sensors read the time (tests inject their own)."""


def utc_now() -> datetime:
    """The wall clock in UTC (the default clock of sensors; tests inject their own)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class RawTable:
    """One landed table of a Fivetran connector."""

    key: dg.AssetKey
    connector_id: str
    schema: str
    table: str


def raw_tables(specs: Iterable[dg.AssetSpec]) -> list[RawTable]:
    """The connector tables among ``specs``, from dagster-fivetran's spec metadata."""
    tables = []
    for spec in specs:
        meta = FivetranMetadataSet.extract(spec.metadata)
        if meta.connector_id and meta.destination_schema_name and meta.destination_table_name:
            tables.append(
                RawTable(
                    spec.key,
                    meta.connector_id,
                    meta.destination_schema_name,
                    meta.destination_table_name,
                )
            )
    return sorted(tables, key=lambda table: table.key.to_user_string())


@dataclass(frozen=True)
class CheckOutcome:
    """One evaluated check, convertible to a runless evaluation or a run's check result."""

    key: dg.AssetKey
    check_name: str
    passed: bool
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.WARN
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``pass``, ``warn`` or ``error``: what the sensor remembers between ticks."""
        return "pass" if self.passed else self.severity.value.lower()

    def _fields(self) -> dict[str, Any]:
        """What a sensor's evaluation and a run's result both carry."""
        return {
            "asset_key": self.key,
            "check_name": self.check_name,
            "passed": self.passed,
            "severity": self.severity,
            "description": self.description,
            "metadata": dict(self.metadata),
        }

    def evaluation(self) -> dg.AssetCheckEvaluation:
        """As reported by a sensor (no run)."""
        return dg.AssetCheckEvaluation(**self._fields())

    def result(self) -> dg.AssetCheckResult:
        """As yielded by the check definition inside a run."""
        return dg.AssetCheckResult(**self._fields())
