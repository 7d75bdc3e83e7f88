"""Each asset's rebuild policy: one declaration next to the model, everything else derived.

A dbt model declares ``meta: {fieldforce: {policy: ...}}`` in its folder's yml, one of:

* ``eager``: rebuild as soon as new upstream data lands (the critical dashboards);
* ``"freshness: 30m/60m"``: every landed sync reflected within the warn window (30 min) after it
  landed; the fail window (60 min) is the alarm;
* ``"cron: 0 6 * * * America/New_York"``: a scheduled report, built on its cron;
* ``on_demand``: no SLA of its own (intermediate tables, snapshots): built when a due asset
  reads it and it has unreflected data.

Undeclared models get their layer's default (:func:`default_policy`). The translator puts the
parsed declaration on the spec as metadata :data:`POLICY_METADATA_KEY` (its canonical text);
:func:`policy_of` reads it back for the planner, and :func:`with_declared_freshness` derives
the Dagster ``FreshnessPolicy`` from the same declaration, so the UI's freshness view and the
planner never disagree. Views, seeds, connector tables and dashboards are not planned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import dagster as dg

from analytics_platform.automation.selection import ON_CODE, REBUILD_TAG
from analytics_platform.freshness import LAYER_WINDOWS, SLOW_CHANGING, SYNC_WINDOW

POLICY_METADATA_KEY = "fieldforce/policy"
"""Spec and materialization metadata: the asset's declared policy, as its canonical text."""


@dataclass(frozen=True)
class Eager:
    """Rebuild as soon as new upstream data lands."""


@dataclass(frozen=True)
class Freshness:
    """Every sync reflected within ``warn`` after it landed; ``fail`` is the alarm."""

    warn: timedelta
    fail: timedelta


@dataclass(frozen=True)
class Cron:
    """A scheduled report: built on its cron, not by the planner."""

    cron: str
    timezone: str


@dataclass(frozen=True)
class OnDemand:
    """No SLA of its own: built when a due asset reads it (intermediate tables, snapshots)."""


Policy = Eager | Freshness | Cron | OnDemand

EAGER_MODELS = frozenset({"fct_jobs"})
"""The operations dashboard's live job board: the design's critical, sub-10-minute dashboard.
The yml files declare it; this is the default should they not."""

CRON_MODELS: Mapping[str, Cron] = {
    "rpt_executive_summary": Cron("0 6 * * *", "America/New_York"),
}
"""Daily reports and their schedule (the executive summary: daily by 6 AM ET)."""

ON_DEMAND_GROUPS = frozenset({"intermediate", "snapshots"})
"""Layers with no SLA of their own."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``"30m"``, ``"1h"``, ``"90s"``, ``"1d"`` as a timedelta."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration (expected e.g. 30m, 1h, 90s, 1d): {text!r}")
    return timedelta(seconds=float(match.group(1)) * _UNIT_S[match.group(2)])


def format_duration(value: timedelta) -> str:
    """The shortest exact text of a duration in :func:`parse_duration`'s units."""
    seconds = value.total_seconds()
    # Minutes up to an hour (the declarations' own "30m/60m"), hours beyond, whole days as such.
    if seconds and seconds % 86400 == 0:
        return f"{int(seconds // 86400)}d"
    if seconds > 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"


def parse_policy(text: str) -> Policy:
    """A declaration (``eager``, ``freshness: 30m/60m``, ``cron: <cron> <tz>``, ``on_demand``)."""
    kind, _, rest = text.strip().partition(":")
    kind, rest = kind.strip().lower(), rest.strip()
    if kind == "eager" and not rest:
        return Eager()
    if kind in ("on_demand", "on-demand") and not rest:
        return OnDemand()
    if kind == "freshness":
        warn, sep, fail = rest.partition("/")
        if not sep:
            raise ValueError(f"freshness needs <warn>/<fail>, e.g. 30m/60m: {text!r}")
        policy = Freshness(parse_duration(warn), parse_duration(fail))
        if policy.fail < policy.warn:
            raise ValueError(f"freshness fail window shorter than its warn window: {text!r}")
        return policy
    if kind == "cron":
        fields = rest.split()
        if len(fields) == 5:
            return Cron(" ".join(fields), "America/New_York")
        if len(fields) == 6:
            return Cron(" ".join(fields[:5]), fields[5])
        raise ValueError(f"cron needs five cron fields and an optional timezone: {text!r}")
    raise ValueError(f"unknown policy {text!r} (eager | freshness: W/F | cron: ... | on_demand)")


def format_policy(policy: Policy) -> str:
    """The canonical text of a policy (what :func:`parse_policy` reads back)."""
    match policy:
        case Eager():
            return "eager"
        case OnDemand():
            return "on_demand"
        case Freshness(warn=warn, fail=fail):
            return f"freshness: {format_duration(warn)}/{format_duration(fail)}"
        case Cron(cron=cron, timezone=timezone):
            return f"cron: {cron} {timezone}"


def default_policy(group: str | None, name: str) -> Policy | None:
    """The layer default of a planned dbt table (None: the layer is not planned)."""
    if name in EAGER_MODELS:
        return Eager()
    if name in CRON_MODELS:
        return CRON_MODELS[name]
    if group in ON_DEMAND_GROUPS or name in SLOW_CHANGING:
        # Slow-changing marts (a calendar, a service catalog) have no window to keep either.
        return OnDemand()
    window = LAYER_WINDOWS.get(group or "")
    if window is not None:
        return Freshness(window.warn, window.fail)
    return None


def declared_policy(props: Mapping[str, Any], group: str | None) -> Policy | None:
    """The policy of a dbt node: ``meta.fieldforce.policy`` (node over config), else the default.

    Views, ephemeral models and seeds are not planned, whatever they declare: a view reads its
    sources live, a seed changes only with the code.
    """
    if props.get("resource_type") not in ("model", "snapshot"):
        return None
    if props.get("config", {}).get("materialized") in ("view", "ephemeral"):
        return None
    meta = {**props.get("config", {}).get("meta", {}).get("fieldforce", {})}
    meta |= props.get("meta", {}).get("fieldforce", {})
    text = meta.get("policy")
    if text is not None:
        return parse_policy(str(text))
    return default_policy(group, str(props.get("name", "")))


def policy_of(spec: dg.AssetSpec) -> Policy | None:
    """The planner's policy of an asset (None: not planned: views, connector tables, dashboards).

    The translator's declaration when the spec carries one; otherwise a dbt table's layer default.
    """
    declared = spec.metadata.get(POLICY_METADATA_KEY)
    if declared is not None:
        text = declared.value if isinstance(declared, dg.MetadataValue) else declared
        return parse_policy(str(text))
    if "dbt" not in spec.kinds or spec.tags.get(REBUILD_TAG) == ON_CODE:
        return None
    if spec.group_name in (None, "seeds", "staging"):
        return None
    return default_policy(spec.group_name, spec.key.path[-1])


def freshness_policy_for(policy: Policy | None, group: str | None) -> dg.FreshnessPolicy | None:
    """The Dagster FreshnessPolicy derived from a declaration.

    ``freshness: W/F`` is a time window of those bounds. An ``eager`` asset or a ``cron`` report
    has no window of its own in the declaration, so it keeps its layer's alarm window (what it
    is paged on if the build never comes). ``on_demand`` assets have no SLA, so no policy.
    """
    match policy:
        case Freshness(warn=warn, fail=fail):
            return dg.FreshnessPolicy.time_window(fail_window=fail, warn_window=warn)
        case Eager() | Cron():
            window = LAYER_WINDOWS.get(group or "", SYNC_WINDOW)
            return window.policy()
        case _:
            return None


def with_declared_freshness(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Attach the FreshnessPolicy derived from the spec's declared policy (others unchanged)."""
    derived = freshness_policy_for(policy_of(spec), spec.group_name)
    if derived is None:
        return spec
    return spec.replace_attributes(freshness_policy=derived)
