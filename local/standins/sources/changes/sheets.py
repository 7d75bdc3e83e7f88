"""Google Sheets in a step: the regional targets are revised once per simulated day."""

from __future__ import annotations

from standins.sources import sheets
from standins.sources.config import DAY_US, Volumes, start_us
from standins.sources.generator import Paths
from standins.sources.state import EstateState


def revise_targets(paths: Paths, state: EstateState, vol: Volumes, t1: int) -> None:
    """Rewrite the targets sheet once the step enters a new simulated day."""
    day = (t1 - start_us()) // DAY_US
    if day > state.sheet_revision:
        sheets.write(
            paths.sheets, sheets.regional_targets(state.seed, vol, tuple(state.tenants), t1)
        )
        state.sheet_revision = int(day)
