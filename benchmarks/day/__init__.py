"""A day in the life: simulated hours of the design's sync cadences under four strategies.

One invocation replays a day of syncs and measures, side by side, what the ways of "running
dbt after Fivetran" cost and deliver (the strategies: ``benchmarks.day.strategies`` and
``benchmarks.day.automation``). The seams:

* ``clock``: the simulated clock (tick ``k`` is at ``k x 15`` simulated minutes), which
  connectors are due, the debounces and sensor ticks.
* ``landing``: what is real on the landing side: the source estate and its change stream, the
  local Fivetran syncing each due connector, and the platform's own change detection.
* ``dbt``: every dbt invocation is a real ``dbt build`` of a strategy's selection into the
  strategy's own schemas, in process.
* ``strategies``, ``automation``: when each strategy builds, and what.
* ``replay``: the set-up and the ticks; ``metrics``: the figures.

Figures per strategy (``<strategy>_...``): ``builds`` (dbt model and snapshot nodes built, from
the run results, views included), ``warehouse_s`` (sum of the nodes' ``execution_time``, seeds
included), ``latency_p50_s``/``latency_p95_s`` (per sync that changed data: from its end to the
end of the first run that started after it and rebuilt the last of the marts downstream of what
it changed), ``freshness_met`` (share of (mart, tick) checks where no change older than the
mart's fail window, from ``analytics_platform/freshness.py``, was still unreflected).

Run: ``uv run fieldforce bench day [--scale S] [--hours H] [--keep]`` (``--hours 2`` for a
short day while developing).
"""

from benchmarks.day.automation import Automation
from benchmarks.day.clock import (
    QUIET_S,
    SENSOR_INTERVAL_S,
    SOURCE_PLUS_DEBOUNCE_S,
    TICK_MIN,
    debounce,
    due_connectors,
    next_tick,
)
from benchmarks.day.dbt import Dbt
from benchmarks.day.landing import Landing
from benchmarks.day.metrics import first_reflection, freshness_met, percentile, summarize
from benchmarks.day.records import Invocation, Run, Sync
from benchmarks.day.replay import DEFAULT_HOURS, DEFAULT_SCALE, load_definitions, run
from benchmarks.day.strategies import (
    STRATEGIES,
    BuildAll,
    BuildAllCoalesced,
    SourcePlus,
    Strategy,
    source_selectors,
)

__all__ = [
    "DEFAULT_HOURS",
    "DEFAULT_SCALE",
    "QUIET_S",
    "SENSOR_INTERVAL_S",
    "SOURCE_PLUS_DEBOUNCE_S",
    "STRATEGIES",
    "TICK_MIN",
    "Automation",
    "BuildAll",
    "BuildAllCoalesced",
    "Dbt",
    "Invocation",
    "Landing",
    "Run",
    "SourcePlus",
    "Strategy",
    "Sync",
    "debounce",
    "due_connectors",
    "first_reflection",
    "freshness_met",
    "load_definitions",
    "next_tick",
    "percentile",
    "run",
    "source_selectors",
    "summarize",
]
