"""A day in the life: simulated hours of the design's sync cadences under five strategies.

One invocation replays a day of syncs and measures, side by side, what the ways of "running
dbt after Fivetran" cost and deliver: ``build_all`` (the whole project after every sync),
``source_plus`` (``source:<x>+`` per synced connector), ``eager`` (the first wave's automation:
everything downstream of a batch of syncs), ``sao`` (dbt's state-aware orchestration, emulated,
its ``build_after`` per model tuned by search) and ``planner`` (the platform's SLA planner).
The seams:

* ``clock``: the simulated clock (tick ``k`` is at ``k x 15`` simulated minutes), which
  connectors are due, the debounces and sensor ticks.
* ``landing``: what is real on the landing side: the source estate and its change stream, the
  local Fivetran syncing each due connector, and the platform's own change detection.
* ``dbt``: every dbt invocation is a real ``dbt build`` of a strategy's selection into the
  strategy's own schemas, in process.
* ``lineage``: the graph, each asset's policy and window, and data time (which sync each
  build read), the one rule by which every strategy is judged.
* ``strategies``, ``eager``, ``sao``, ``planned``: when each strategy builds, and what.
* ``replay``: the set-up and the ticks; ``metrics``: the figures.

Figures per strategy (``<strategy>_...``): ``builds`` (dbt model and snapshot nodes built),
``runs``, ``warehouse_s`` (sum of the nodes' ``execution_time``, seeds included),
``latency_p50_s``/``latency_p95_s`` (per (sync, eager asset) pair: from the sync's end to the
end of the run after which the asset's data time held it), ``windows_met`` (share of (sync,
downstream eager or freshness asset) pairs reflected within the asset's warn window),
``freshness_met`` (Dagster's view: share of (asset, tick) checks where no change older than the
asset's fail window was still unreflected). ``eager`` is also reported as ``automation_*``.

Run: ``uv run fieldforce bench day [--scale S] [--hours H] [--keep] [--strategies NAME ...]``
(``--hours 1`` for a short day while developing).
"""

from benchmarks.day.clock import (
    QUIET_S,
    SENSOR_INTERVAL_S,
    SOURCE_PLUS_DEBOUNCE_S,
    TICK_MIN,
    debounce,
    due_connectors,
    next_tick,
    released_at,
)
from benchmarks.day.dbt import Dbt
from benchmarks.day.eager import Eager
from benchmarks.day.landing import Landing
from benchmarks.day.lineage import NEVER, DataTimes, Lineage, replay_data_times
from benchmarks.day.metrics import (
    first_reflection,
    freshness_met,
    percentile,
    reflections,
    summarize,
    timeline,
    windows_met,
)
from benchmarks.day.planned import Planner, expected_landings
from benchmarks.day.records import Invocation, Run, Sync
from benchmarks.day.replay import DEFAULT_HOURS, DEFAULT_SCALE, load_definitions, run, targets
from benchmarks.day.sao import Sao, SaoCore, scheduled_day, search_build_after, simulate
from benchmarks.day.strategies import (
    ALL_STRATEGIES,
    STRATEGIES,
    BuildAll,
    BuildAllCoalesced,
    Selective,
    SourcePlus,
    Strategy,
    source_selectors,
)

__all__ = [
    "ALL_STRATEGIES",
    "DEFAULT_HOURS",
    "DEFAULT_SCALE",
    "NEVER",
    "QUIET_S",
    "SENSOR_INTERVAL_S",
    "SOURCE_PLUS_DEBOUNCE_S",
    "STRATEGIES",
    "TICK_MIN",
    "BuildAll",
    "BuildAllCoalesced",
    "DataTimes",
    "Dbt",
    "Eager",
    "Invocation",
    "Landing",
    "Lineage",
    "Planner",
    "Run",
    "Sao",
    "SaoCore",
    "Selective",
    "SourcePlus",
    "Strategy",
    "Sync",
    "debounce",
    "due_connectors",
    "expected_landings",
    "first_reflection",
    "freshness_met",
    "load_definitions",
    "next_tick",
    "percentile",
    "reflections",
    "released_at",
    "replay_data_times",
    "run",
    "scheduled_day",
    "search_build_after",
    "simulate",
    "source_selectors",
    "summarize",
    "targets",
    "timeline",
    "windows_met",
]
