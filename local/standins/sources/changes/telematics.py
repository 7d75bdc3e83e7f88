"""Telematics in a step: each hourly batch is written once its hour has passed."""

from __future__ import annotations

import pyarrow.parquet as pq

from standins.sources import telematics
from standins.sources.config import start_us
from standins.sources.generator import Paths
from standins.sources.state import EstateState


def write_batches(paths: Paths, state: EstateState, t1: int) -> None:
    """Write every hourly batch whose hour has passed by ``t1``."""
    fl = telematics.fleet(state.seed, state.scale, tuple(state.tenants))
    while start_us() + (state.gps_next_seq + 1) * telematics.BATCH_US <= t1:
        table = telematics.batch(state.seed, fl, state.gps_next_seq)
        target = telematics.batch_path(paths.telematics, state.gps_next_seq)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".parquet.tmp")
        pq.write_table(table, tmp)
        tmp.replace(target)
        state.gps_next_seq += 1
