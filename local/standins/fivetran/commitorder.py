"""Commit order for the Jobs DB connectors: which row versions a sync has not delivered yet.

Fivetran's PostgreSQL connector reads a database by what committed (the XMIN method, or logical
decoding), never by a timestamp the rows carry: a row stamped far in the future would otherwise
move the cursor past every later change, and a transaction that commits after a later one would
land behind the cursor. Here every sync reads in one REPEATABLE READ snapshot and keeps that
snapshot (``pg_current_snapshot()``, ``xmin:xmax:xip``) as its cursor. The next sync reads the
row versions written by any transaction at or after that snapshot's ``xmin``: every transaction
before it had finished when the snapshot was taken, so its rows were delivered; every one from
it on was either in flight (its rows land once it commits) or had not started.

The window starts at ``xmin`` rather than at "not visible to the snapshot"
(``pg_visible_in_snapshot``) because a snapshot lists top-level transactions only: a row written
in a subtransaction (a savepoint, a PL/pgSQL exception block) of a transaction in flight would
look visible and be lost. Rows of the window that the previous sync did deliver are read again
and dropped at load time (their cursor column did not move), so nothing lands twice.

A row's ``xmin`` is 32 bits and wraps; it is widened to the 64-bit ``xid8`` of the snapshot's
epoch by its distance below the snapshot's ``xmax`` (a visible row version is never more than
2^31 transactions old without being frozen, and a frozen one that maps into the window is only
read again and dropped). The special ids below 3 (bootstrap, frozen) are older than any window.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

SNAPSHOT_KEY = "snapshot"
"""The cursor state's key holding the previous sync's snapshot (``xmin:xmax:xip``)."""

_FIRST_NORMAL_XID = 3
_XID_MASK = 0xFFFF_FFFF


@dataclass(frozen=True)
class Snapshot:
    """A PostgreSQL ``pg_snapshot``: its text form and its bounds as 64-bit transaction ids."""

    text: str
    xmin: int
    xmax: int

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        """The snapshot whose text form (``xmin:xmax:xip,...``) is ``text``."""
        xmin, xmax, _ = text.split(":", 2)
        return cls(text=text, xmin=int(xmin), xmax=int(xmax))


def current(conn: psycopg.Connection) -> Snapshot:
    """The snapshot of ``conn``'s transaction (REPEATABLE READ: the one every read sees)."""
    row = conn.execute("select pg_current_snapshot()::text").fetchone()
    assert row is not None
    return Snapshot.parse(row[0])


def full_xid(now: Snapshot, alias: str = "") -> sql.Composable:
    """A row's ``xmin`` as a 64-bit id in ``now``'s epoch (see the module docstring)."""
    xmin = sql.SQL("{}xmin::text::bigint").format(sql.SQL(f"{alias}." if alias else ""))
    return sql.SQL("({xmax} - (({xmax} - {xmin}) & {mask}))").format(
        xmax=sql.Literal(now.xmax), xmin=xmin, mask=sql.Literal(_XID_MASK)
    )


def written_since(previous: Snapshot, now: Snapshot, alias: str = "") -> sql.Composable:
    """The condition on a row (of table ``alias``) that its version is not yet delivered."""
    xmin = sql.SQL("{}xmin::text::bigint").format(sql.SQL(f"{alias}." if alias else ""))
    return sql.SQL("({xmin} >= {normal} and {xid} >= {since})").format(
        xmin=xmin,
        normal=sql.Literal(_FIRST_NORMAL_XID),
        xid=full_xid(now, alias),
        since=sql.Literal(previous.xmin),
    )
