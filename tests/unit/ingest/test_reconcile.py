"""Raw-vs-source reconciliation: tallies, the windowed judgement, and the warehouse query."""

from __future__ import annotations

import hashlib

import duckdb

from analytics_platform.ingest.reconcile import (
    BUCKETS,
    HASH_HEX_DIGITS,
    Look,
    Tally,
    advance,
    agree,
    judge,
    raw_tally_query,
    source_tally_query,
    tally_raw,
)


def key_number(*parts: object) -> int:
    text = "|".join(str(part) for part in parts)
    return int(hashlib.md5(text.encode()).hexdigest()[:HASH_HEX_DIGITS], 16)


def tally(keys: list[int]) -> Tally:
    buckets: dict[int, tuple[int, int]] = {}
    for key in keys:
        number = key_number(key)
        rows, total = buckets.get(number % BUCKETS, (0, 0))
        buckets[number % BUCKETS] = (rows + 1, total + number)
    return Tally(buckets)


def bucket_of(key: int) -> int:
    return key_number(key) % BUCKETS


KEYS = list(range(1, 501))


def test_equal_key_sets_agree_and_updates_do_not_matter() -> None:
    assert agree(tally(KEYS), tally(list(reversed(KEYS))))
    assert tally(KEYS).rows == 500
    assert not agree(tally(KEYS), tally(KEYS[:-1]))
    assert tally(KEYS).checksum != tally([*KEYS[:-1], 9_999]).checksum


def test_a_missing_key_in_a_settled_bucket_is_drift() -> None:
    source = tally(KEYS)
    raw = tally([k for k in KEYS if k != 42])
    verdict = judge(source.digests(), source, raw)
    assert verdict.drifted == (bucket_of(42),)
    assert verdict.missing == 1 and verdict.settled == BUCKETS
    assert (verdict.source_rows, verdict.raw_rows) == (500, 499)


def test_a_row_still_live_in_raw_after_its_delete_counts_negative() -> None:
    source = tally([k for k in KEYS if k != 7])
    raw = tally(KEYS)
    verdict = judge(source.digests(), source, raw)
    assert verdict.drifted == (bucket_of(7),) and verdict.missing == -1


def test_buckets_the_source_changed_during_the_window_are_not_judged() -> None:
    """A key inserted after the baseline may not have been synced yet: not drift."""
    before = tally(KEYS)
    source = tally([*KEYS, 1_000])
    raw = tally(KEYS)  # the last sync read the source before 1000 arrived
    verdict = judge(before.digests(), source, raw)
    assert verdict.drifted == ()
    assert verdict.settled == BUCKETS - 1 and verdict.conclusive


def test_a_window_without_a_settled_bucket_is_inconclusive() -> None:
    verdict = judge({}, tally(KEYS), tally(KEYS[:10]))
    assert verdict.settled == sum(1 for b in range(BUCKETS) if b not in tally(KEYS).buckets)
    changed = judge({str(b): "x" for b in range(BUCKETS)}, tally(KEYS), tally(KEYS[:10]))
    assert not changed.conclusive and changed.drifted == ()


def look(source: list[int], raw: list[int], synced: str | None, idle: bool = True) -> Look:
    return Look(source=tally(source), raw=tally(raw), last_success=synced, idle=idle)


def test_drift_counts_windows_with_a_successful_sync_in_between() -> None:
    behind = [k for k in KEYS if k != 42]
    state, verdict = advance(None, look(KEYS, behind, "t1"))
    assert verdict is None and state["strikes"] == 0  # the first reading opens a window
    state, verdict = advance(state, look(KEYS, behind, "t1"))
    assert verdict is None  # no sync since: the window stays open
    state, verdict = advance(state, look(KEYS, behind, "t2", idle=False))
    assert verdict is None  # a sync in flight says nothing
    state, verdict = advance(state, look(KEYS, behind, "t2"))
    assert verdict is not None and verdict.drifted and state["strikes"] == 1
    state, verdict = advance(state, look(KEYS, behind, "t3"))
    assert verdict is not None and state["strikes"] == 2
    state, verdict = advance(state, look(KEYS, KEYS, "t3"))
    assert verdict is not None and not verdict.drifted and state["strikes"] == 0


def test_changes_since_the_last_sync_never_count_as_drift() -> None:
    """A busy source: every reading finds new keys the next sync has not read yet."""
    state, _ = advance(None, look(KEYS, KEYS, "t1"))
    landed = list(KEYS)
    for step in range(1, 6):
        source = [*landed, 10_000 + step]
        state, verdict = advance(state, look(source, landed, f"t{step + 1}"))
        assert verdict is not None and verdict.drifted == ()
        assert state["strikes"] == 0
        landed = source


def test_the_queries_hash_keys_as_python_does() -> None:
    assert "md5(concat_ws('|', cast(\"job_id\" as varchar)))" in source_tally_query(
        "jobs", ["job_id"]
    )
    assert source_tally_query("jobs", ["job_id"]).count(f"% {BUCKETS}") == 1
    snowflake = raw_tally_query("fivetran_postgres_bu_north", "jobs", ["job_id"], "snowflake")
    assert '"FIVETRAN_POSTGRES_BU_NORTH"."JOBS"' in snowflake
    assert "to_number(" in snowflake and '"_FIVETRAN_DELETED"' in snowflake


def test_the_duckdb_tally_counts_live_rows_only() -> None:
    with duckdb.connect() as con:
        con.execute("create schema raw")
        con.execute(
            "create table raw.items (job_id bigint, line integer, _fivetran_deleted boolean)"
        )
        con.execute("insert into raw.items select i // 5, i % 5, i = 3 from range(1, 400) t(i)")
        got = tally_raw(con, "raw", "items", ["job_id", "line"], "duckdb")
    expected: dict[int, tuple[int, int]] = {}
    for i in range(1, 400):
        if i == 3:
            continue
        number = key_number(i // 5, i % 5)
        rows, total = expected.get(number % BUCKETS, (0, 0))
        expected[number % BUCKETS] = (rows + 1, total + number)
    assert dict(got.buckets) == expected and got.rows == 398
