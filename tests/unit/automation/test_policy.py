"""Policy declarations: parsing, canonical text, layer defaults, the derived FreshnessPolicy."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest

from analytics_platform.automation.policy import (
    POLICY_METADATA_KEY,
    Cron,
    Eager,
    Freshness,
    OnDemand,
    declared_policy,
    format_policy,
    parse_policy,
    policy_of,
    with_declared_freshness,
)


@pytest.mark.parametrize(
    ("text", "policy"),
    [
        ("eager", Eager()),
        ("on_demand", OnDemand()),
        ("freshness: 30m/60m", Freshness(timedelta(minutes=30), timedelta(hours=1))),
        ("freshness: 90s/1d", Freshness(timedelta(seconds=90), timedelta(days=1))),
        ("cron: 0 6 * * * America/New_York", Cron("0 6 * * *", "America/New_York")),
        ("cron: 0 6 * * *", Cron("0 6 * * *", "America/New_York")),
    ],
)
def test_declarations_parse_and_round_trip(text: str, policy: object) -> None:
    """Each form parses, and its canonical text parses back to the same policy."""
    assert parse_policy(text) == policy
    assert parse_policy(format_policy(parse_policy(text))) == policy


@pytest.mark.parametrize("text", ["eagerly", "freshness: 30m", "freshness: 60m/30m", "cron: 0 6"])
def test_bad_declarations_fail_loudly(text: str) -> None:
    """A typo in a yml file is an error at load, not a silently unplanned asset."""
    with pytest.raises(ValueError):
        parse_policy(text)


def test_layer_defaults_and_declarations() -> None:
    """Marts default to their layer; views and seeds are never planned; meta wins."""
    mart = {"resource_type": "model", "name": "fct_revenue", "config": {"materialized": "table"}}
    assert declared_policy(mart, "marts_finance") == Freshness(
        timedelta(minutes=30), timedelta(minutes=60)
    )
    assert declared_policy({**mart, "name": "fct_jobs"}, "marts_core") == Eager()
    assert declared_policy({**mart, "name": "dim_date"}, "marts_core") == OnDemand()
    assert declared_policy({**mart, "name": "int_x"}, "intermediate") == OnDemand()
    assert isinstance(
        declared_policy({**mart, "name": "rpt_executive_summary"}, "marts_executive"), Cron
    )
    view = {**mart, "config": {"materialized": "view", "meta": {"fieldforce": {"policy": "eager"}}}}
    assert declared_policy(view, "staging") is None
    assert declared_policy({"resource_type": "seed", "name": "s"}, "seeds") is None
    declared = {**mart, "meta": {"fieldforce": {"policy": "freshness: 10m/20m"}}}
    assert declared_policy(declared, "marts_finance") == Freshness(
        timedelta(minutes=10), timedelta(minutes=20)
    )


def test_the_freshness_policy_follows_the_declaration() -> None:
    """The Dagster policy is the declared window; on-demand assets get none."""
    spec = dg.AssetSpec(
        "m", group_name="marts_finance", metadata={POLICY_METADATA_KEY: "freshness: 10m/20m"}
    )
    derived = with_declared_freshness(spec)
    assert policy_of(spec) == Freshness(timedelta(minutes=10), timedelta(minutes=20))
    assert derived.freshness_policy == dg.FreshnessPolicy.time_window(
        fail_window=timedelta(minutes=20), warn_window=timedelta(minutes=10)
    )
    on_demand = dg.AssetSpec(
        "i", group_name="intermediate", metadata={POLICY_METADATA_KEY: "on_demand"}
    )
    assert with_declared_freshness(on_demand).freshness_policy is None
    assert policy_of(dg.AssetSpec(["fivetran", "jobs_db", "jobs"], kinds={"fivetran"})) is None


def test_the_translator_puts_each_models_declaration_on_its_spec() -> None:
    """The yml declarations reach the specs; views and connector tables carry none."""
    from analytics_platform.transform import assets

    specs = {spec.key: spec for spec in assets.defs.resolve_all_asset_specs()}
    declared = {
        key.to_user_string(): spec.metadata.get(POLICY_METADATA_KEY) for key, spec in specs.items()
    }
    assert declared["marts/core/fct_jobs"] == "eager"
    assert declared["marts/finance/fct_revenue"] == "freshness: 30m/60m"
    assert declared["marts/executive/rpt_executive_summary"] == "cron: 0 6 * * * America/New_York"
    assert declared["intermediate/int_jobs_enriched"] == "on_demand"
    assert declared["staging/stg_jobs__jobs"] is None
    assert all(policy_of(spec) is None for key, spec in specs.items() if key.path[0] == "fivetran")
