"""Markers by folder: a test's tier is where it lives, so no module has to say it again.

``tests/unit`` is fast and pure, ``tests/integration`` starts real processes on 127.0.0.1,
``tests/e2e`` drives the whole local stack; ``pytest -m unit`` (or ``integration``, ``e2e``)
selects one tier.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TIERS = ("unit", "integration", "e2e")
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every collected test the marker of the tier folder it sits in."""
    for item in items:
        tier = Path(item.path).relative_to(HERE).parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))
