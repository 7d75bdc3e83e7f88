"""The estate's persistent state, ``$FIELDFORCE_HOME/sources/estate.json``.

It holds everything another process needs to continue the estate where this one left it:
the generation parameters, the estate's start, the simulated clock, and how far the change
stream got. Every process that works on the estate (the change stream, the CLI, tests) reads
the start from here, so all of them measure simulated time from the same moment.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from standins.sources.config import EPOCH_US, from_us

VERSION = 1


@dataclass
class EstateState:
    """Generation parameters and the change stream's position.

    Attributes:
        seed: The seed everything derives from.
        scale: Volume factor (1.0 = the design's full volumes).
        tenants: Tenant names, in id-range order.
        history_days: Days of history generated after the start.
        clock_us: The simulated now (microseconds since 1970, UTC).
        applied_until_us: End of the last 5-minute grid step whose changes were applied.
        gps_next_seq: The next telematics batch to write (hours since the start).
        sheet_revision: The simulated day whose revision of the sheet was last written.
        port: The PostgreSQL port last used (reused when free).
        generated: Whether the initial history is complete.
        rows: Row counts per table after generation (for reports).
        counters: Last id handed out per id sequence of the change stream (ids are never
            reused, even after a hard delete).
        start_us: Where the estate's simulated time starts (a UTC midnight); an estate saved
            without one starts at the reference start, :data:`~standins.sources.config.EPOCH`.
    """

    seed: int
    scale: float
    tenants: list[str]
    history_days: int
    clock_us: int
    applied_until_us: int
    gps_next_seq: int
    sheet_revision: int
    port: int | None = None
    generated: bool = False
    rows: dict[str, int] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    start_us: int = EPOCH_US

    def save(self, path: Path) -> None:
        """Write atomically, so a concurrent reader never sees a torn file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "version": VERSION,
            "clock": from_us(self.clock_us).isoformat(),
            "start": from_us(self.start_us).isoformat(),
            **asdict(self),
        }
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> EstateState:
        """Read a state file written by :meth:`save`."""
        data = json.loads(path.read_text())
        data.pop("version", None)
        data.pop("clock", None)
        data.pop("start", None)
        return cls(**data)
