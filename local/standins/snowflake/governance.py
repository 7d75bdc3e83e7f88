"""Governed reads of the local warehouse: the door the BI tool and analysts go through.

On Snowflake the rules are the warehouse's own: roles and grants per the design's role matrix,
masking policies on the email and phone columns, a row access policy keyed on
``security.user_region_access`` (``dbt_fieldforce/macros/governance/``). Sigma connects as
``SIGMA_BI_ROLE`` and Snowflake enforces them on every query.

DuckDB has no roles, grants or policies, and anything a session can attach it can read in full
(session variables included, which any SQL can reset). So locally the rules are split:

* dbt writes them as SQL: a ``governed`` schema with one view per intermediate and mart
  relation that masks and filters by the identity in the session variables
  ``fieldforce_user`` / ``fieldforce_role``, plus ``governed.role_layers`` (which layers each
  role may read) and ``governed.governed_relations`` (which view serves which relation).
* :func:`connect_governed` is the only way in: it opens a private in-memory database, attaches
  the warehouse read-only, sets the identity, copies exactly what the role may read through
  the governed views under the relations' own names (``core.fct_jobs``), then detaches the
  warehouse, turns off file access and locks the configuration. What the session holds is
  already masked and filtered; raw, staging, ``security`` and the unmasked marts are not in
  it and cannot be attached, whatever SQL is sent. Like Snowflake for an object outside a
  role's grants, a query of one fails with "does not exist".

The copy costs a read of the governed relations per connection, which is what makes the
lock-down honest; pass ``relations`` to copy only what a caller needs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics_platform.settings import Settings, load_settings

BI_ROLE = "SIGMA_BI_ROLE"
"""The role Sigma connects with (the design's Sigma connection, docs/ARCHITECTURE.md)."""

USER_VARIABLE = "fieldforce_user"
ROLE_VARIABLE = "fieldforce_role"
"""Session variables the governed views read (``governance_config()`` in dbt_fieldforce)."""

GOVERNED_SCHEMA = "governed"
SERVED_LAYERS = frozenset({"intermediate", "marts"})
"""Layers a governed connection can serve. Roles that read raw or staging are pipeline roles
(dbt, Fivetran): they use the ``warehouse`` resource, not this door."""

_SOURCE = "fieldforce_warehouse"


class GovernanceError(RuntimeError):
    """A governed connection cannot be opened for this role or warehouse."""


@dataclass(frozen=True)
class GovernedRelation:
    """One relation a role may read: served by ``view_name`` in the governed schema."""

    view_name: str
    source_schema: str
    source_name: str
    layer: str


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _attach_read_only(conn: duckdb.DuckDBPyConnection, path: Path, timeout_s: float) -> None:
    """Attach the warehouse read-only as ``fieldforce_warehouse``, waiting out a writer's lock.

    DuckDB allows one writing process per file (CONTRACTS.md); a reader that arrives while
    dbt or the sync writes waits with backoff, like every other warehouse client.
    """
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while True:
        try:
            conn.execute(f"attach {_literal(str(path))} as {_SOURCE} (read_only)")
            return
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def readable_relations(
    conn: duckdb.DuckDBPyConnection, role: str, governed_schema: str = GOVERNED_SCHEMA
) -> list[GovernedRelation]:
    """The governed relations ``role`` may read, per the warehouse's ``role_layers``.

    Args:
        conn: A connection with the warehouse attached as ``fieldforce_warehouse``.
        role: A functional role of the design's role matrix, e.g. ``SIGMA_BI_ROLE``.
        governed_schema: The governed schema (``governed``; ``<ci schema>_governed`` on ci).

    Raises:
        GovernanceError: The warehouse has no governed layer, the role reads nothing, or it
            reads raw or staging (a pipeline role).
    """
    prefix = f"{_SOURCE}.{_q(governed_schema)}"
    try:
        layers = {
            layer
            for (layer,) in conn.execute(
                f"select layer from {prefix}.role_layers where role_name = ?", [role]
            ).fetchall()
        }
        rows = conn.execute(
            f"select view_name, source_schema, source_name, layer from {prefix}.governed_relations"
            " order by source_schema, source_name"
        ).fetchall()
    except duckdb.CatalogException as exc:
        raise GovernanceError(
            f"the warehouse has no governed layer ({governed_schema}.role_layers): "
            "run `dbt build` (its on-run-end hook writes it)"
        ) from exc
    if not layers:
        raise GovernanceError(f"role {role} may read no layer of the warehouse")
    if not layers <= SERVED_LAYERS:
        raise GovernanceError(
            f"role {role} reads {', '.join(sorted(layers - SERVED_LAYERS))}: a pipeline role "
            "uses the warehouse resource, not a governed connection"
        )
    return [GovernedRelation(*row) for row in rows if row[3] in layers]


def connect_governed(
    warehouse_path: Path | str,
    user: str,
    role: str = BI_ROLE,
    *,
    relations: Iterable[str] | None = None,
    governed_schema: str = GOVERNED_SCHEMA,
    lock_timeout_s: float = 120.0,
) -> duckdb.DuckDBPyConnection:
    """A locked-down DuckDB session holding what ``user`` acting as ``role`` may read.

    Each relation ``role`` may read is copied through its governed view (masked and filtered
    for this identity) into the session under its own name (``core.fct_jobs``); nothing else
    is reachable from the returned connection.

    Args:
        warehouse_path: The DuckDB warehouse file.
        user: The reader's login (``sigma_email`` in ``security.user_region_access``).
        role: The functional role (``SIGMA_BI_ROLE``, ``ANALYST_ROLE``, ``ADMIN_ROLE``).
        relations: Only these ``schema.name`` relations (all the role may read when None);
            naming one the role may not read raises.
        governed_schema: The governed schema written by the dbt target that built the marts.
        lock_timeout_s: How long to wait for a writer (dbt, the sync) to release the file.

    Raises:
        GovernanceError: The role may not use a governed connection, or ``relations`` names
            a relation it may not read.
        ValueError: ``user`` is empty.
    """
    if not user.strip():
        raise ValueError("a governed connection needs the reader's login (user)")
    session = duckdb.connect(":memory:")
    try:
        _attach_read_only(session, Path(warehouse_path), lock_timeout_s)
        try:
            _copy_readable(session, user, role, relations, governed_schema)
        finally:
            session.execute(f"detach database if exists {_SOURCE}")
        session.execute(f"reset variable {USER_VARIABLE}")
        session.execute(f"reset variable {ROLE_VARIABLE}")
        # From here on no file can be attached or read, and no setting can be changed back.
        session.execute("set enable_external_access = false")
        session.execute("set lock_configuration = true")
    except BaseException:
        session.close()
        raise
    return session


def _copy_readable(
    session: duckdb.DuckDBPyConnection,
    user: str,
    role: str,
    relations: Iterable[str] | None,
    governed_schema: str,
) -> None:
    """Copy what ``role`` may read, as ``user`` sees it, from the attached warehouse."""
    readable = readable_relations(session, role, governed_schema)
    if relations is not None:
        wanted = set(relations)
        unknown = wanted - {f"{r.source_schema}.{r.source_name}" for r in readable}
        if unknown:
            raise GovernanceError(f"role {role} may not read {', '.join(sorted(unknown))}")
        readable = [r for r in readable if f"{r.source_schema}.{r.source_name}" in wanted]
    session.execute(f"set variable {USER_VARIABLE} = ?", [user])
    session.execute(f"set variable {ROLE_VARIABLE} = ?", [role])
    for relation in readable:
        schema = f"memory.{_q(relation.source_schema)}"
        session.execute(f"create schema if not exists {schema}")
        session.execute(
            f"create table {schema}.{_q(relation.source_name)} as select * from "
            f"{_SOURCE}.{_q(governed_schema)}.{_q(relation.view_name)}"
        )


def governed_connection(
    user: str, role: str = BI_ROLE, settings: Settings | None = None
) -> duckdb.DuckDBPyConnection:
    """:func:`connect_governed` on the platform's warehouse (local and CI only).

    Raises:
        GovernanceError: In production: Sigma connects to Snowflake as ``SIGMA_BI_ROLE`` and
            Snowflake's own grants and policies govern it; there is no local door to open.
    """
    settings = settings or load_settings()
    if settings.warehouse_type != "duckdb":
        raise GovernanceError(
            "the warehouse is Snowflake: connect with the reader's role; its grants and "
            "policies (dbt_fieldforce/macros/governance) govern the session"
        )
    return connect_governed(settings.warehouse_path, user, role)
