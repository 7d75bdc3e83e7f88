"""The graph every strategy and figure of the day shares, and each asset's data time.

``Lineage`` is read once from the code location's specs: the connector tables syncs land,
the dbt tables (everything with a planner policy: ``policy_of``), what each table reads with
the views resolved, the connector tables whose data reaches it, and its warn window.

``DataTimes`` is the bookkeeping of source data time on the simulated clock: per table and
connector table upstream, the ``succeeded_at`` (the sync's end) of the newest sync its last
build read. A build reads what had landed when its run started; through a table it reads
that table's data time (after the same run, if the run built it first). A table reached along
several paths holds, per connector table, the oldest of them: it reflects a sync only when
every path carries it. The same bookkeeping tells the planner strategy what is unreflected,
tells ``sao`` whether a model has new upstream data, and tells the figures when each sync
was reflected in each asset, so the strategies are judged by one rule.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg

from analytics_platform.automation.policy import Cron, Eager, Freshness, Policy, policy_of

NEVER = float("-inf")
"""The data time of a connector table an asset has never read."""


@dataclass(frozen=True)
class Lineage:
    """The dbt tables, what each reads (views resolved), and their policies and windows."""

    connector_tables: frozenset[dg.AssetKey]
    reads: Mapping[dg.AssetKey, frozenset[dg.AssetKey]]
    """Per table: the connector tables and tables it reads, views resolved."""
    policies: Mapping[dg.AssetKey, Policy]
    warn_s: Mapping[dg.AssetKey, float]
    """Per eager or freshness asset: its warn window (an eager asset: its spec's own window)."""
    fail_s: Mapping[dg.AssetKey, float]
    """Per asset with a Dagster freshness policy: its fail window (Dagster's view)."""
    order: tuple[dg.AssetKey, ...]
    """The tables, upstream first."""
    sources: Mapping[dg.AssetKey, frozenset[dg.AssetKey]] = field(default_factory=dict)
    children: Mapping[dg.AssetKey, frozenset[dg.AssetKey]] = field(default_factory=dict)

    @classmethod
    def from_specs(cls, specs: Iterable[dg.AssetSpec]) -> Lineage:
        """Read the graph off the code location's asset specs."""
        specs = list(specs)
        by_key = {spec.key: spec for spec in specs}
        connector = frozenset(spec.key for spec in specs if "fivetran" in spec.kinds)
        # dbt's tables only: the replay builds with dbt (a Python asset such as the ops
        # layer's savings mart is planned in production but not part of this comparison).
        policies = {
            spec.key: policy
            for spec in specs
            if "dbt" in spec.kinds and (policy := policy_of(spec)) is not None
        }

        def resolve(key: dg.AssetKey, seen: frozenset[dg.AssetKey]) -> set[dg.AssetKey]:
            # A connector table or a table is read as such; anything else (a view, a seed) is
            # looked through to what it reads.
            if key in connector or key in policies:
                return {key}
            if key in seen or key not in by_key:
                return set()
            found: set[dg.AssetKey] = set()
            for dep in by_key[key].deps:
                found |= resolve(dep.asset_key, seen | {key})
            return found

        reads = {
            key: frozenset(
                up for dep in by_key[key].deps for up in resolve(dep.asset_key, frozenset())
            )
            for key in policies
        }
        warn_s: dict[dg.AssetKey, float] = {}
        fail_s: dict[dg.AssetKey, float] = {}
        for key, policy in policies.items():
            # Dagster's time-window policy (the one the translator derives from the declaration).
            fresh = by_key[key].freshness_policy
            fail = getattr(fresh, "fail_window", None)
            warn = getattr(fresh, "warn_window", None)
            if fail is not None:
                fail_s[key] = fail.to_timedelta().total_seconds()
            if isinstance(policy, Freshness):
                warn_s[key] = policy.warn.total_seconds()
            elif isinstance(policy, Eager) and (warn or fail) is not None:
                warn_s[key] = (warn or fail).to_timedelta().total_seconds()
        return cls.build(connector, reads, policies, warn_s, fail_s)

    @classmethod
    def build(
        cls,
        connector_tables: Iterable[dg.AssetKey],
        reads: Mapping[dg.AssetKey, Iterable[dg.AssetKey]],
        policies: Mapping[dg.AssetKey, Policy],
        warn_s: Mapping[dg.AssetKey, float],
        fail_s: Mapping[dg.AssetKey, float] | None = None,
    ) -> Lineage:
        """The lineage of a hand-made graph (the unit tests) or of the specs."""
        reads = {key: frozenset(ups) for key, ups in reads.items()}
        order: list[dg.AssetKey] = []
        placed: set[dg.AssetKey] = set()

        def place(key: dg.AssetKey) -> None:
            if key in placed:
                return
            placed.add(key)
            for up in sorted(reads.get(key, ()), key=lambda k: k.to_user_string()):
                if up in reads:
                    place(up)
            order.append(key)

        for key in sorted(reads, key=lambda k: k.to_user_string()):
            place(key)
        connector = frozenset(connector_tables)
        sources: dict[dg.AssetKey, frozenset[dg.AssetKey]] = {}
        for key in order:
            found: set[dg.AssetKey] = set()
            for up in reads[key]:
                found |= {up} if up in connector else sources.get(up, frozenset())
            sources[key] = frozenset(found)
        children: dict[dg.AssetKey, set[dg.AssetKey]] = {}
        for key, ups in reads.items():
            for up in ups:
                children.setdefault(up, set()).add(key)
        return cls(
            connector_tables=connector,
            reads=reads,
            policies=dict(policies),
            warn_s=dict(warn_s),
            fail_s=dict(fail_s or {}),
            order=tuple(order),
            sources=sources,
            children={key: frozenset(kids) for key, kids in children.items()},
        )

    def downstream(
        self, changed: Iterable[dg.AssetKey], *, past_cron: bool = True
    ) -> set[dg.AssetKey]:
        """The tables downstream of the changed connector tables (through tables).

        ``past_cron=False`` stops at scheduled reports, as the first wave's sync sensor did (a
        report changes on its cron, not with the sync).
        """
        found: set[dg.AssetKey] = set()
        frontier = list(changed)
        while frontier:
            for child in self.children.get(frontier.pop(), ()):
                if child in found:
                    continue
                if not past_cron and isinstance(self.policies.get(child), Cron):
                    continue
                found.add(child)
                frontier.append(child)
        return found

    def windowed(self) -> frozenset[dg.AssetKey]:
        """The assets with a warn window of their own (eager and freshness)."""
        return frozenset(self.warn_s)


@dataclass
class DataTimes:
    """Per table, per connector table upstream, the end of the newest sync its last build read.

    ``landed`` holds, per connector table, the end times of the syncs that changed it (sorted);
    every table starts at ``start`` (the day's first whole build read the initial syncs).
    """

    lineage: Lineage
    start: float = 0.0
    landed: dict[dg.AssetKey, list[float]] = field(default_factory=dict)
    current: dict[dg.AssetKey, dict[dg.AssetKey, float]] = field(default_factory=dict)
    history: dict[dg.AssetKey, list[tuple[float, dict[dg.AssetKey, float]]]] = field(
        default_factory=dict
    )
    """Per table: ``(run end, data time after it)`` of every build."""

    def __post_init__(self) -> None:
        """Every table starts holding the day's initial syncs."""
        for key in self.lineage.order:
            self.current.setdefault(key, dict.fromkeys(self.lineage.sources[key], self.start))

    def land(self, table: dg.AssetKey, end_s: float) -> None:
        """A sync that changed ``table`` ended at ``end_s``."""
        bisect.insort(self.landed.setdefault(table, []), end_s)

    def newest(self, table: dg.AssetKey, at_s: float) -> float:
        """The end of the newest sync of ``table`` that had landed at ``at_s``."""
        times = self.landed.get(table, [])
        index = bisect.bisect_right(times, at_s)
        return times[index - 1] if index else self.start

    def after(
        self,
        key: dg.AssetKey,
        start_s: float,
        built: Mapping[dg.AssetKey, Mapping[dg.AssetKey, float]],
    ) -> dict[dg.AssetKey, float]:
        """The data time a build of ``key`` in a run that started at ``start_s`` holds.

        ``built``: the data times of tables the same run built before it (upstream first).
        """
        result: dict[dg.AssetKey, float] = {}
        for up in self.lineage.reads[key]:
            if up in self.lineage.connector_tables:
                path = {up: self.newest(up, start_s)}
            else:
                path = built.get(up) or self.current.get(up, {})
                sources = self.lineage.sources.get(up, frozenset())
                path = {source: path.get(source, NEVER) for source in sources}
            for source, at in path.items():
                result[source] = min(result.get(source, at), at)
        return result

    def apply(self, start_s: float, end_s: float, built: Iterable[dg.AssetKey]) -> None:
        """Record a run: each table it built now holds what it read (upstream first)."""
        chosen = set(built)
        done: dict[dg.AssetKey, dict[dg.AssetKey, float]] = {}
        for key in self.lineage.order:
            if key in chosen:
                done[key] = self.after(key, start_s, done)
        for key, times in done.items():
            self.current[key] = times
            self.history.setdefault(key, []).append((end_s, times))

    def unreflected(self, key: dg.AssetKey, at_s: float) -> bool:
        """Whether a sync that had landed at ``at_s`` reaches ``key`` and is not in its data."""
        held = self.current[key]
        return any(
            self.newest(source, at_s) > held.get(source, NEVER)
            for source in self.lineage.sources[key]
        )

    def reflected_at(
        self, key: dg.AssetKey, tables: Iterable[dg.AssetKey], sync_end_s: float
    ) -> float | None:
        """End of the first run after which ``key`` held a sync of ``tables`` ending then."""
        tables = [t for t in tables if t in self.lineage.sources.get(key, ())]
        for end_s, times in self.history.get(key, []):
            if all(times.get(t, NEVER) >= sync_end_s for t in tables):
                return end_s
        return None


def replay_data_times(
    lineage: Lineage,
    syncs: Sequence[tuple[float, Iterable[dg.AssetKey]]],
    runs: Sequence[tuple[float, float, Iterable[dg.AssetKey]]],
) -> DataTimes:
    """The data times of a strategy's runs over the day's syncs (``(end, changed tables)``)."""
    times = DataTimes(lineage)
    for end_s, tables in syncs:
        for table in tables:
            times.land(table, end_s)
    for start_s, end_s, built in sorted(runs, key=lambda run: (run[0], run[1])):
        times.apply(start_s, end_s, built)
    return times
