"""The local-Fivetran pytest fixtures: one PostgreSQL cluster per session, a stack per test.

Each stack comes from :func:`testkit.builder.build_stack` over minisource databases of the
session's cluster, with a fresh warehouse file and its own service process, so tests never see
each other's data; its historical syncs have finished when a fixture hands it over. The names
tests import from here (``Stack``, the credentials, the expectations of :mod:`testkit.landed`)
are re-exported, so a test needs one import line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from standins.sources.postgres import PostgresCluster

from testkit.builder import (
    API_KEY,
    API_SECRET,
    FivetranOptions,
    MiniSources,
    Stack,
    build_stack,
    private_root,
)
from testkit.landed import (
    SALT,
    assert_all_landed,
    clear_pii_values,
    dest_rows,
    hashed,
    json_lines,
    source_rows,
    warehouse_strings,
)

__all__ = [
    "API_KEY",
    "API_SECRET",
    "SALT",
    "Stack",
    "StackFactory",
    "assert_all_landed",
    "clear_pii_values",
    "dest_rows",
    "hashed",
    "json_lines",
    "pg_cluster",
    "shared_stack",
    "source_rows",
    "stack",
    "stack_factory",
    "warehouse_strings",
]

WEBHOOK_RETRY_BASE_S = 0.2
"""Tests retry failed webhook deliveries quickly, so a retry lands within a test's wait."""


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """One PostgreSQL cluster for the session; each stack creates its own databases in it."""
    with private_root("fivetran-pg-") as root:
        cluster = PostgresCluster(root / "pg").start()
        try:
            yield cluster
        finally:
            cluster.stop()


class StackFactory:
    """Makes stacks under one root and stops them all at the end."""

    def __init__(self, cluster: PostgresCluster, root: Path) -> None:
        """Nothing starts until the factory is called."""
        self.cluster = cluster
        self.root = root
        self.stacks: list[Stack] = []

    def __call__(
        self,
        rows: int = 200,
        tenants: tuple[str, ...] = ("bu_north", "bu_south"),
        speed: float = 1.0,
        start: bool = True,
    ) -> Stack:
        """A stack over fresh sources; started and synced unless ``start`` is False."""
        stack = build_stack(
            self.root / f"stack{len(self.stacks)}",
            MiniSources(self.cluster, rows=rows, tenants=tenants),
            fivetran=FivetranOptions(speed=speed, webhook_retry_base=WEBHOOK_RETRY_BASE_S),
            start=start,
        )
        self.stacks.append(stack)
        return stack

    def close(self) -> None:
        """Stop every stack this factory made."""
        for stack in self.stacks:
            stack.close()


@pytest.fixture
def stack_factory(pg_cluster: PostgresCluster, tmp_path: Path) -> Iterator[StackFactory]:
    """A factory of stacks for one test; all of them stop when it ends."""
    factory = StackFactory(pg_cluster, tmp_path)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def stack(stack_factory: StackFactory) -> Stack:
    """One started stack, its historical syncs done."""
    return stack_factory()


@pytest.fixture(scope="module")
def shared_stack(
    pg_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """One stack for a module whose tests only read (or undo what they change)."""
    factory = StackFactory(pg_cluster, tmp_path_factory.mktemp("shared"))
    try:
        yield factory()
    finally:
        factory.close()
