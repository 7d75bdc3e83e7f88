"""What the alert-sensor tests share: the sensors' clock, a tick as the daemon does it, readers.

The sensors are evaluated tick by tick against a real Dagster instance, with the real Slack and
PagerDuty stand-ins receiving; time-based rows run on the sensors' injected clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from tests.integration.alerts.conftest import SENSOR_TESTS_UI, StandIn

UI = SENSOR_TESTS_UI
"""The Dagster UI the alerts link to (the ``config`` fixture's)."""


@dataclass
class Clock:
    """The sensors' clock: the wall clock, moved by ``offset``."""

    offset: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def at(self, moment: datetime) -> None:
        """Make "now" be ``moment`` (advancing with the wall clock from here)."""
        self.offset = moment - datetime.now(UTC)


@dataclass
class Ticker:
    """Evaluates one sensor as the daemon does: cursor in, asset events recorded, cursor out."""

    sensor: dg.SensorDefinition
    instance: dg.DagsterInstance
    resources: Mapping[str, Any]
    definitions: dg.Definitions | None = None
    cursor: str | None = None
    messages: list[str | None] = field(default_factory=list)

    def tick(self) -> list[Any]:
        """One evaluation; returns the asset events it recorded."""
        with dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources=dict(self.resources),
            definitions=self.definitions,
        ) as context:
            data = self.sensor.evaluate_tick(context)
        for event in data.asset_events:
            self.instance.report_runless_asset_event(event)
        self.cursor = data.cursor
        self.messages.append(data.skip_message)
        return list(data.asset_events)


def sensor_of(defs: dg.Definitions, name: str) -> dg.SensorDefinition:
    return next(sensor for sensor in defs.sensors or [] if sensor.name == name)


def slack_texts(slack: StandIn) -> list[str]:
    messages = slack.recorded()["messages"]
    assert all(message["channel_name"] == "data-alerts" for message in messages), messages
    return [message["message"]["text"] for message in messages]


def pager_events(pagerduty: StandIn) -> list[tuple[str, str]]:
    return [
        (record["event"]["event_action"], record["event"]["dedup_key"])
        for record in pagerduty.recorded()["events"]
    ]


def incidents(pagerduty: StandIn) -> dict[str, str]:
    return {
        incident["dedup_key"]: incident["status"] for incident in pagerduty.recorded()["incidents"]
    }
