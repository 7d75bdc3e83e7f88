"""``raw_row_count_anomaly``: is the latest sync's row count far off the table's trailing syncs?

The latest reported sync's ``dagster/row_count_delta`` is scored against the table's trailing
reports by the modified z-score (median and MAD, Iglewicz and Hoaglin), which one earlier
outlier in the history cannot drag along the way a mean and a standard deviation would. A
table with fewer than :data:`MIN_HISTORY` earlier reports passes: a new table has no normal yet.
"""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from analytics_platform.ingest.checks.tables import RAW_ANOMALY_CHECK, CheckOutcome, RawTable

MIN_HISTORY = 5
"""Earlier reports a table needs before its latest sync can be called an anomaly."""
MAX_HISTORY = 30
"""Trailing reports compared against: about a day of a 15-minute connector's changing syncs."""
ANOMALY_CUTOFF = 3.5
"""Modified z-score beyond which a sync is an outlier (Iglewicz and Hoaglin's cut-off)."""
MIN_RELATIVE_SCALE = 0.05
"""Floor of the spread, as a share of the median: a table that always lands exactly 24 rows
(a full-replace sheet) has no spread at all, and 25 rows is not an anomaly."""


@dataclass(frozen=True)
class AnomalyScore:
    """How far one sync's row delta lies from the trailing history of the same table."""

    latest: float
    history_length: int
    median: float | None = None
    mad: float | None = None
    score: float | None = None
    relative_deviation: float | None = None
    cutoff: float = ANOMALY_CUTOFF

    @property
    def enough_history(self) -> bool:
        """Whether there was a history to compare against at all."""
        return self.score is not None

    @property
    def anomalous(self) -> bool:
        """Beyond the cut-off, in either direction."""
        return self.score is not None and abs(self.score) > self.cutoff


def row_count_anomaly(
    latest: float,
    history: Sequence[float],
    *,
    min_history: int = MIN_HISTORY,
    cutoff: float = ANOMALY_CUTOFF,
) -> AnomalyScore:
    """Score ``latest`` against ``history`` (earlier syncs' row deltas) with robust statistics.

    The modified z-score ``(x - median) / (1.4826 * MAD)`` treats the MAD as a standard
    deviation would be on normal data. When more than half of the history is identical the MAD
    is 0; the mean absolute deviation (times 1.2533) stands in, and the spread never drops below
    :data:`MIN_RELATIVE_SCALE` of the median nor one row, so a constant table tolerates small
    changes and still flags a doubling.

    Args:
        latest: Rows the latest sync landed.
        history: Rows each earlier sync landed (any order).
        min_history: Fewer earlier syncs than this: no score (not an anomaly).
        cutoff: Absolute score beyond which ``anomalous`` is true.
    """
    if len(history) < min_history:
        return AnomalyScore(latest=latest, history_length=len(history), cutoff=cutoff)
    median = statistics.median(history)
    mad = statistics.median(abs(value - median) for value in history)
    spread = 1.4826 * mad
    if spread == 0:
        spread = 1.2533 * statistics.fmean(abs(value - median) for value in history)
    spread = max(spread, MIN_RELATIVE_SCALE * abs(median), 1.0)
    relative = abs(latest - median) / abs(median) if median else float(latest != 0)
    return AnomalyScore(
        latest=latest,
        history_length=len(history),
        median=median,
        mad=mad,
        score=(latest - median) / spread,
        relative_deviation=relative,
        cutoff=cutoff,
    )


def anomaly_outcome(table: RawTable, deltas: Sequence[float]) -> CheckOutcome | None:
    """The ``raw_row_count_anomaly`` outcome from the table's row deltas, newest first."""
    if not deltas:
        return None
    scored = row_count_anomaly(deltas[0], deltas[1:])
    metadata: dict[str, Any] = {
        "rows_landed": deltas[0],
        "history_length": scored.history_length,
        "connector_id": table.connector_id,
    }
    if scored.median is None or scored.score is None:
        description = f"Not enough history yet ({scored.history_length} of {MIN_HISTORY} syncs)."
        return CheckOutcome(
            table.key, RAW_ANOMALY_CHECK, True, description=description, metadata=metadata
        )
    metadata |= {
        "trailing_median": scored.median,
        "trailing_mad": scored.mad,
        "modified_z_score": round(scored.score, 2),
        "relative_deviation": round(scored.relative_deviation or 0.0, 4),
    }
    description = (
        f"Latest sync landed {deltas[0]:.0f} rows; the trailing median is {scored.median:.0f}"
        f" (modified z-score {scored.score:.1f}, cut-off {scored.cutoff})."
    )
    return CheckOutcome(
        table.key,
        RAW_ANOMALY_CHECK,
        not scored.anomalous,
        dg.AssetCheckSeverity.WARN,
        description,
        metadata,
    )
