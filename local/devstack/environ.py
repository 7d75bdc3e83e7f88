"""Environment variables set for a block and restored after it, even when the block fails.

The code location reads its settings from the environment (``EnvVar``), and so does the dbt
profile of every dbt subprocess; benchmarks and the test harness point both at a warehouse of
their own for a while, then must leave the caller's environment as it was.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set ``values`` in ``os.environ`` for the block; restore (or unset) each one after it."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
