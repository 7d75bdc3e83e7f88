"""Shared, session-scoped estates: PostgreSQL is started once per estate and always stopped."""

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standins.sources.estate import Estate

SCALE = 0.0004
ADVANCE_MINUTES = 6 * 60
NOW = datetime(2026, 4, 1, tzinfo=UTC)
"""When the shared estates are generated: pinned, so that their figures are reproducible (the
estate then starts at the reference start, 2026-01-01, 90 days before)."""


@pytest.fixture(scope="session")
def base_dir() -> Iterator[Path]:
    """A private directory for the clusters, outside pytest's shared basetemp.

    Concurrent pytest sessions of the same user prune each other's old ``pytest-N``
    directories, which would delete a running cluster's data dir; /tmp is named explicitly so
    a TMPDIR set for other tools does not matter.
    """
    path = Path(tempfile.mkdtemp(prefix="fieldforce-sources-", dir="/tmp"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@dataclass
class Generated:
    estate: Estate
    checksums_initial: dict[str, str]
    truth_initial: dict
    clock_initial_us: int
    checksums_advanced: dict[str, str]


@pytest.fixture(scope="session")
def generated(base_dir: Path) -> Iterator[Generated]:
    """The main estate: generated, checksummed, then advanced six simulated hours."""
    estate = Estate(base_dir / "main", seed=42, scale=SCALE)
    estate.start()
    try:
        progress: list[tuple[str, int, int]] = []
        estate.generate(lambda stage, done, total: progress.append((stage, done, total)), now=NOW)
        assert progress[-1][1] == progress[-1][2]
        initial = estate.checksums()
        truth = estate.ground_truth()
        from standins.sources.config import to_us

        clock0 = to_us(estate.clock)
        estate.advance(ADVANCE_MINUTES)
        yield Generated(estate, initial, truth, clock0, estate.checksums())
    finally:
        estate.stop()
