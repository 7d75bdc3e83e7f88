"""Raw-vs-source reconciliation of the Jobs DB tables: row counts and primary-key checksums.

A connector can report every sync SUCCESSFUL while the warehouse falls behind its source: a
cursor that skips changes, a table edited in the warehouse, a bug in any loader. The only
measure that does not trust the pipeline is to count both ends. Per table, each side's live
rows (the source's rows; the raw table's rows not ``_fivetran_deleted``) are tallied by primary
key: the key's text is hashed with ``md5`` (the one hash PostgreSQL, DuckDB and Snowflake all
compute alike), its first :data:`HASH_HEX_DIGITS` hex digits read as a number, and the keys
are spread over :data:`BUCKETS` buckets by that number, each bucket keeping its row count and
the sum of its keys' numbers. Equal tallies mean the same key sets (up to a hash collision);
updates to a row do not move its key, so this is about rows that are missing or should be gone.

A busy source always differs from its raw table by the changes since the last sync, so one
look proves nothing. :func:`judge` therefore compares only the buckets whose source tally did
not move between two looks that a whole successful sync lies between: the sync read the source
while those buckets were as they are now, so the raw buckets must equal them. A bucket that
changed in between is left for a later window; with many buckets, a few busy keys hide little.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from analytics_platform.ingest.changes import Dialect, quote

BUCKETS = 64
HASH_HEX_DIGITS = 12
"""48 bits per key: sums of millions of keys stay exact in every engine's integer sum."""

SOURCE_SCHEMA = "public"
"""The Jobs DB's schema in each tenant's database (Fivetran lands its tables by name)."""


@dataclass(frozen=True)
class Tally:
    """One side of one table: ``bucket -> (rows, key sum)``; empty buckets are absent."""

    buckets: Mapping[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Live rows of the table."""
        return sum(rows for rows, _ in self.buckets.values())

    @property
    def checksum(self) -> int:
        """The sum of every key's hash number, modulo 2^64."""
        return sum(total for _, total in self.buckets.values()) % (1 << 64)

    def digests(self) -> dict[str, str]:
        """A short fingerprint per bucket: what a sensor keeps to see which buckets moved."""
        return {
            str(bucket): hashlib.sha256(f"{rows}:{total}".encode()).hexdigest()[:12]
            for bucket, (rows, total) in sorted(self.buckets.items())
        }


@dataclass(frozen=True)
class Judgement:
    """One table compared over a window.

    Attributes:
        source_rows: live rows at the source now.
        raw_rows: live rows in the raw table now.
        settled: buckets whose source tally did not move over the window (the ones judged).
        drifted: settled buckets whose raw tally differs from the source's.
        missing: over the drifted buckets, source rows minus raw rows (negative: raw has more).
    """

    source_rows: int
    raw_rows: int
    settled: int
    drifted: tuple[int, ...]
    missing: int

    @property
    def conclusive(self) -> bool:
        """Whether any bucket could be judged."""
        return self.settled > 0


def agree(source: Tally, raw: Tally) -> bool:
    """Whether the two sides hold the same key sets right now (no window needed)."""
    return dict(source.buckets) == dict(raw.buckets)


def judge(baseline: Mapping[str, str], source: Tally, raw: Tally) -> Judgement:
    """Compare ``raw`` with ``source`` on the buckets the source kept since ``baseline``.

    Args:
        baseline: the source's :meth:`Tally.digests` at the start of the window.
        source: the source's tally now.
        raw: the raw table's tally now, read after a successful sync that started inside the
            window and before any sync that started after ``source`` was read.
    """
    now = source.digests()
    settled = [b for b in range(BUCKETS) if baseline.get(str(b)) == now.get(str(b))]
    empty = (0, 0)
    drifted = tuple(b for b in settled if source.buckets.get(b, empty) != raw.buckets.get(b, empty))
    missing = sum(source.buckets.get(b, empty)[0] - raw.buckets.get(b, empty)[0] for b in drifted)
    return Judgement(
        source_rows=source.rows,
        raw_rows=raw.rows,
        settled=len(settled),
        drifted=drifted,
        missing=missing,
    )


@dataclass(frozen=True)
class Look:
    """One reading of a table's two sides, and of its connector around the reading.

    Attributes:
        source: the source's tally.
        raw: the raw table's tally, read after ``source``.
        last_success: the connector's latest successful sync (the API's ``succeeded_at``).
        idle: no sync ran while the two sides were read (the connector was not syncing and
            ``last_success`` did not change), so both describe the same moment's syncs.
    """

    source: Tally
    raw: Tally
    last_success: str | None
    idle: bool


def advance(watch: Mapping[str, Any] | None, look: Look) -> tuple[dict[str, Any], Judgement | None]:
    """One tick of a table's window: the state to keep, and a verdict when there is one.

    A window opens at an idle reading (its source digests are the baseline) and closes at the
    first idle reading after a later successful sync: that sync started inside the window,
    since the connector was idle when it opened. Closing judges the window (:func:`judge`),
    counts ``strikes`` (consecutive windows that found drift) and opens the next one. Sides that
    agree outright need no window: the verdict is "no drift" at once.

    Returns:
        The table's next state (JSON-safe) and the judgement, or None while the window is open
        or the reading was not idle (a sync in flight says nothing either way).
    """
    state = dict(watch or {})
    strikes = int(state.get("strikes", 0))
    if not look.idle:
        return state, None
    opened = {"baseline": look.source.digests(), "synced": look.last_success}
    if agree(look.source, look.raw):
        judgement = judge(opened["baseline"], look.source, look.raw)
        return {**opened, "strikes": 0}, judgement
    baseline = state.get("baseline")
    if baseline is None:
        return {**opened, "strikes": strikes}, None
    if look.last_success == state.get("synced"):
        return state, None
    judgement = judge(baseline, look.source, look.raw)
    if judgement.drifted:
        strikes += 1
    elif judgement.conclusive:
        strikes = 0
    return {**opened, "strikes": strikes}, judgement


# --- the queries ----------------------------------------------------------------------------


def _pg_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _key_text(columns: Sequence[str], ident: Any) -> str:
    parts = ", ".join(f"cast({ident(c)} as varchar)" for c in columns)
    return f"concat_ws('|', {parts})"


def source_tally_query(table: str, primary_key: Sequence[str]) -> str:
    """The PostgreSQL query tallying a Jobs DB table (``bucket, rows, key sum`` rows)."""
    digits = f"substr(md5({_key_text(primary_key, _pg_ident)}), 1, {HASH_HEX_DIGITS})"
    number = f"('x' || {digits})::bit({HASH_HEX_DIGITS * 4})::bigint"
    relation = f"{_pg_ident(SOURCE_SCHEMA)}.{_pg_ident(table)}"
    return (
        f"select h % {BUCKETS}, count(*), sum(h) from (select {number} as h from {relation}) k"
        " group by 1"
    )


def raw_tally_query(schema: str, table: str, primary_key: Sequence[str], dialect: Dialect) -> str:
    """The warehouse query tallying a raw table's live rows, in the source's terms."""

    def ident(name: str) -> str:
        return quote(name, dialect)

    digits = f"substr(md5({_key_text(primary_key, ident)}), 1, {HASH_HEX_DIGITS})"
    if dialect == "snowflake":
        number = f"to_number({digits}, '{'X' * HASH_HEX_DIGITS}')"
    else:
        number = f"cast('0x' || {digits} as bigint)"
    relation = f"{ident(schema)}.{ident(table)}"
    live = f"not coalesce({ident('_fivetran_deleted')}, false)"
    return (
        f"select h % {BUCKETS}, count(*), sum(h) from"
        f" (select {number} as h from {relation} where {live}) k group by 1"
    )


def _tally(rows: Iterable[Sequence[Any]]) -> Tally:
    return Tally({int(bucket): (int(count), int(total)) for bucket, count, total in rows})


def _fetch(connection: Any, query: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
    """Rows of ``query`` over any DB-API connection (psycopg2, DuckDB, Snowflake)."""
    cursor = connection.cursor()
    try:
        if params:
            cursor.execute(query, params)
        else:
            cursor.execute(query)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def source_primary_keys(connection: Any, tables: Iterable[str]) -> dict[str, list[str]]:
    """``table -> primary key columns`` of the Jobs DB tables that exist and have a key."""
    query = """
        select c.relname, a.attname
        from pg_index i
        join pg_class c on c.oid = i.indrelid
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attnum = any(i.indkey)
        where i.indisprimary and n.nspname = %s and c.relname = any(%s)
        order by c.relname, array_position(i.indkey::int2[], a.attnum)
    """
    keys: dict[str, list[str]] = {}
    for table, column in _fetch(connection, query, (SOURCE_SCHEMA, sorted(set(tables)))):
        keys.setdefault(table, []).append(column)
    return keys


def tally_source(connection: Any, table: str, primary_key: Sequence[str]) -> Tally:
    """A Jobs DB table's tally, read in the caller's transaction (one snapshot per tenant)."""
    return _tally(_fetch(connection, source_tally_query(table, primary_key)))


def tally_raw(
    connection: Any, schema: str, table: str, primary_key: Sequence[str], dialect: Dialect
) -> Tally:
    """A raw table's tally over the warehouse's DB-API connection."""
    return _tally(_fetch(connection, raw_tally_query(schema, table, primary_key, dialect)))
