"""One retry mechanism per cause: only a transient warehouse error is retried inside the run.

A failed model or test fails the step at once (the SLA planner retries it with its backoff);
an op retry policy on every failure would run a broken model three times per planner attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import dagster as dg
import pytest
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from analytics_platform.transform.assets import (
    TRANSIENT_RETRIES,
    TRANSIENT_RETRY_MAX_S,
    _stream,
    dbt_fieldforce,
    transient,
    transient_wait_s,
)

# What DuckDB says when another process holds the embedded warehouse (measured, duckdb 1.x).
LOCK_HELD = (
    'IO Error: Could not set lock on file "/w/warehouse.duckdb": Conflicting lock is held in'
    " /usr/bin/python3.11 (PID 3907). See also https://duckdb.org/docs/current/connect/concurrency"
)
MODEL_FAILED = (
    "The dbt CLI process with command\n\n`dbt build`\n\nfailed with exit code `1`. Errors parsed"
    " from dbt logs:\n\nRuntime Error in model fct_jobs (models/marts/core/fct_jobs.sql)\n"
    '  Binder Error: Referenced column "job_idd" not found in FROM clause!'
)


class _Failing:
    """A dbt resource whose build fails with ``failure`` after streaming nothing."""

    def __init__(self, failure: Exception) -> None:
        self.failure = failure

    def cli(self, args: list[str], context: Any) -> SimpleNamespace:
        def stream() -> Iterator[Any]:
            raise self.failure
            yield

        return SimpleNamespace(stream=stream)


def _run(failure: Exception, retry_number: int = 0) -> list[Any]:
    context = SimpleNamespace(log=logging.getLogger("test_dbt_retries"), retry_number=retry_number)
    return list(_stream(context, _Failing(failure), ["build"]))  # type: ignore[arg-type]


def test_the_dbt_step_has_no_retry_policy_of_its_own() -> None:
    assert dbt_fieldforce.op.retry_policy is None


def test_a_transient_warehouse_error_asks_for_a_retry_in_the_run() -> None:
    assert transient(DagsterDbtCliRuntimeError(description=f"failed: {LOCK_HELD}"))
    with pytest.raises(dg.RetryRequested) as raised:
        _run(DagsterDbtCliRuntimeError(description=f"failed: {LOCK_HELD}"))
    assert raised.value.max_retries == TRANSIENT_RETRIES
    assert raised.value.seconds_to_wait == transient_wait_s(0) == 5


def test_transient_retries_back_off_to_a_bound_that_outlasts_a_long_sync_load() -> None:
    waits = [transient_wait_s(n) for n in range(TRANSIENT_RETRIES)]
    assert waits[:5] == [5, 10, 20, 40, 60]
    assert max(waits) == TRANSIENT_RETRY_MAX_S
    # A historical sync's load holds the embedded warehouse for minutes at scale 1.0.
    assert sum(waits) >= 5 * 60
    with pytest.raises(dg.RetryRequested) as raised:
        _run(DagsterDbtCliRuntimeError(description=f"failed: {LOCK_HELD}"), retry_number=3)
    assert raised.value.seconds_to_wait == 40


def test_a_failed_model_fails_the_step_at_once_for_the_planner_to_retry() -> None:
    assert not transient(DagsterDbtCliRuntimeError(description=MODEL_FAILED))
    with pytest.raises(DagsterDbtCliRuntimeError, match="job_idd"):
        _run(DagsterDbtCliRuntimeError(description=MODEL_FAILED))
