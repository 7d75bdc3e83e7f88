"""The freshness-policy row of the alert matrix: the production layer policies, on a clock.

The sensor is the production one (``build_alert_defs``), evaluated tick by tick against a real
Dagster instance, with the real Slack and PagerDuty stand-ins receiving; time passes on the
sensor's injected clock, and the build times it measures come from the instance.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from analytics_platform.alerts import build_alert_defs
from analytics_platform.automation.policy import with_declared_freshness
from analytics_platform.notify import AlertingConfig
from tests.integration.alerts.conftest import StandIn
from tests.integration.alerts.sensing import (
    UI,
    Clock,
    Ticker,
    incidents,
    pager_events,
    sensor_of,
    slack_texts,
)


def test_freshness_policy_windows_warn_then_page_and_a_build_resolves(
    config: AlertingConfig,
    instance: dg.DagsterInstance,
    notifiers: dict[str, Any],
    slack_standin: StandIn,
    pagerduty_standin: StandIn,
) -> None:
    # Probes of dbt marts (the kind the layer defaults apply to).
    @dg.asset(key=["marts", "core", "fct_probe"], group_name="marts_core", kinds={"dbt"})
    def fct_probe() -> int:
        return 1

    @dg.asset(key=["marts", "core", "dim_date"], group_name="marts_core", kinds={"dbt"})
    def dim_date() -> int:
        return 1

    # The production policies, applied the way definitions.py applies them.
    assets = dg.Definitions(assets=[fct_probe, dim_date]).map_resolved_asset_specs(
        func=with_declared_freshness
    )
    specs = list(assets.resolve_all_asset_specs())
    clock = Clock()
    defs = build_alert_defs(specs, config=config, clock=clock)
    sensor = Ticker(sensor_of(defs, "alerts__freshness_sensor"), instance, notifiers)
    page_key = "fieldforce/asset_freshness/marts/core/fct_probe"

    sensor.tick()  # never built: no freshness yet, no alert
    assert slack_texts(slack_standin) == []
    assert dg.materialize([fct_probe, dim_date], instance=instance).success
    built = datetime.now(UTC)
    sensor.tick()
    assert slack_texts(slack_standin) == []

    clock.at(built + timedelta(minutes=40))  # past the 30-min warn window of marts_core
    sensor.tick()
    [warning] = slack_texts(slack_standin)
    assert warning.startswith(
        ":warning: *WARNING*: marts/core/fct_probe is past its freshness warn"
    )
    assert f"{UI}/assets/marts/core/fct_probe" in warning
    assert "dim_date" not in warning  # no policy on a slow-changing mart

    clock.at(built + timedelta(minutes=70))  # past the 60-min fail window
    sensor.tick()
    sensor.tick()
    texts = slack_texts(slack_standin)
    assert len(texts) == 2 and texts[1].startswith(":rotating_light: *CRITICAL*")
    assert pager_events(pagerduty_standin) == [("trigger", page_key)]
    [incident] = pagerduty_standin.recorded()["incidents"]
    # Since when: the moment the warn window ran out, kept through the escalation.
    since = datetime.fromisoformat(incident["custom_details"]["since"])
    assert abs((since - (built + timedelta(minutes=30))).total_seconds()) < 5

    assert dg.materialize([fct_probe], instance=instance).success
    clock.at(datetime.now(UTC) + timedelta(minutes=1))
    sensor.tick()
    assert incidents(pagerduty_standin) == {page_key: "resolved"}
    assert slack_texts(slack_standin)[2].startswith(":white_check_mark: *RESOLVED*")
