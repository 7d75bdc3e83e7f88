"""The timestamp cursor's inclusive boundary, computed on Arrow columns.

``_past_boundary`` used to turn every row's cursor and key into Python strings (gigabytes for a
historical sync of ten million invoices at scale 1.0). The reference below is that row-by-row
definition; the Arrow version must agree with it on every table, ties and nulls included.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from standins.fivetran.extract import _cursor_text, _past_boundary

BASE = datetime(2026, 12, 7, 12, tzinfo=UTC)


def reference(
    rows: pa.Table, cursor_col: str, primary_key: list[str], last: str | None, boundary: list[str]
) -> tuple[list[Any], str, list[str]]:
    cursor_text = [
        _cursor_text(v) if v is not None else None for v in rows.column(cursor_col).to_pylist()
    ]
    keys = [
        json.dumps(list(values), default=str)
        for values in zip(*(rows.column(k).to_pylist() for k in primary_key), strict=True)
    ]
    top = max(c for c in cursor_text if c is not None)
    at_top = [k for k, c in zip(keys, cursor_text, strict=True) if c == top]
    next_keys = sorted(set(at_top) | (set(boundary) if top == last else set()))
    seen = set(boundary)
    keep = [not (c == last and k in seen) for k, c in zip(keys, cursor_text, strict=True)]
    return rows.filter(pa.array(keep)).column("id").to_pylist(), top, next_keys


def table(rng: np.random.Generator, n: int) -> pa.Table:
    # Few distinct instants, so that ties at both ends are common; some with microseconds.
    offsets = rng.integers(0, 4, size=n)
    stamps = [
        None if rng.random() < 0.1 else BASE + timedelta(seconds=int(o), microseconds=int(o) % 2)
        for o in offsets
    ]
    if all(s is None for s in stamps):
        stamps[0] = BASE
    return pa.table(
        {
            "id": pa.array(rng.permutation(n) + 1, pa.int64()),
            "tenant": pa.array([f"bu_{i % 2}" for i in range(n)]),
            "updated_at": pa.array(stamps, pa.timestamp("us", tz="UTC")),
        }
    )


@pytest.mark.parametrize("seed", range(40))
def test_the_arrow_boundary_matches_the_row_by_row_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = table(rng, int(rng.integers(1, 30)))
    texts = sorted({_cursor_text(v) for v in rows.column("updated_at").to_pylist() if v})
    key = ["id", "tenant"] if seed % 2 else ["id"]
    every_key = json.loads(json.dumps(rows.select(key).to_pylist()))
    some = [json.dumps(list(k.values())) for k in every_key if rng.random() < 0.5]
    checked = 0
    for last, boundary in (
        (None, []),
        (texts[0], some),  # the previous sync ended at this table's earliest instant
        (texts[-1], some),  # nothing newer since
        (_cursor_text(BASE - timedelta(hours=1)), some),  # a boundary no row is at
        (texts[len(texts) // 2], some),
        (texts[0], []),
    ):
        # What the extract reads: ``updated_at >= last`` (no nulls), or everything.
        read = (
            rows
            if last is None
            else rows.filter(
                pc.greater_equal(
                    rows["updated_at"],
                    pa.scalar(datetime.fromisoformat(last), pa.timestamp("us", tz="UTC")),
                )
            )
        )
        if read.num_rows == 0 or read["updated_at"].null_count == read.num_rows:
            continue
        kept, top, next_keys = _past_boundary(read, "updated_at", key, last, boundary)
        assert (kept.column("id").to_pylist(), top, next_keys) == reference(
            read, "updated_at", key, last, boundary
        )
        checked += 1
    assert checked >= 3


def test_rows_seen_at_the_boundary_are_dropped_and_new_ones_kept() -> None:
    at = BASE.isoformat(sep=" ")
    rows = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "updated_at": pa.array(
                [BASE, BASE, BASE + timedelta(seconds=1)], pa.timestamp("us", tz="UTC")
            ),
        }
    )
    kept, top, next_keys = _past_boundary(rows, "updated_at", ["id"], at, ["[1]"])
    assert kept.column("id").to_pylist() == [2, 3]
    assert top == (BASE + timedelta(seconds=1)).isoformat(sep=" ")
    assert next_keys == ["[3]"]
