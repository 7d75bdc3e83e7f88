"""End-to-end ordering: tests with their own stack run before the shared daemon stack starts.

``running_platform`` is session-scoped, so once a test uses it the stack keeps running until
the session ends. A test that starts a stack of its own (``fieldforce up``) would then share two
cores with an idle-but-ticking daemon; running those tests first keeps each stack alone.
"""

from __future__ import annotations

import pytest

# One definition for the whole directory: a session fixture imported into each test module
# would be a separate fixture per module, and each module would start a stack of its own.
from tests.fixtures.platform import running_platform

__all__ = ["running_platform"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Stable-sort the e2e tests: own-stack tests first, shared-stack tests after."""
    items.sort(
        key=lambda item: (
            "/e2e/" in str(item.path).replace("\\", "/")
            and "running_platform" in getattr(item, "fixturenames", ())
        )
    )
