"""Notifications in one import: decide who hears about a problem, say it plainly, deliver it.

Three layers, each usable alone, each its own module under :mod:`analytics_platform.alerts`:

1. Policy (:mod:`~analytics_platform.alerts.policy`): :func:`load_alerting_config` reads
   ``alerting.yaml`` (the design's alert matrix, channels, the PagerDuty dedup-key scheme);
   :func:`classify` turns a measured value into a severity.
2. Decisions, all pure (:mod:`~analytics_platform.alerts.render`): an :class:`Alert` says what
   is wrong, where, since when, and links to the Dagster UI; :func:`route` picks its
   destinations; :func:`format_slack_message` and :func:`pagerduty_trigger` render it.
3. Delivery: :class:`SlackNotifier` and :class:`PagerDutyNotifier`
   (:mod:`~analytics_platform.alerts.vendors`) are Dagster resources that reach the vendors
   only through a base URL; :func:`dispatch`, :func:`clear` and :func:`dispatch_resolved`
   (:mod:`~analytics_platform.alerts.deliver`) send an alert and its all-clear.

A sensor therefore does: ``severity = classify(rule, value, config)``; if not None, build an
``Alert`` and ``dispatch(alert, config, slack=..., pagerduty=...)``; when the value is healthy
again, ``clear(rule, where, config, pagerduty)``. Secrets (the Slack token, the PagerDuty routing
key) are scrubbed from everything sent and never logged.
"""

from __future__ import annotations

from analytics_platform.alerts.deliver import Delivery, clear, dispatch, dispatch_resolved
from analytics_platform.alerts.policy import (
    DEFAULT_CONFIG_PATH,
    DESTINATION_KINDS,
    SEVERITIES,
    AlertingConfig,
    AlertingConfigError,
    Categories,
    Condition,
    DestinationKind,
    Rule,
    Severity,
    Threshold,
    classify,
    load_alerting_config,
    parse_alerting_config,
)
from analytics_platform.alerts.render import (
    MAX_DEDUP_KEY_CHARS,
    MAX_HEADER_CHARS,
    MAX_SUMMARY_CHARS,
    REDACTED,
    Alert,
    Destination,
    JSONValue,
    PagerDutyDestination,
    PagerDutySeverity,
    PagerDutyTrigger,
    SlackDestination,
    SlackMessage,
    alert_link,
    dedup_key,
    format_resolved_message,
    format_slack_message,
    pagerduty_trigger,
    redact,
    route,
)
from analytics_platform.alerts.vendors import (
    PagerDutyError,
    PagerDutyNotifier,
    SlackNotifier,
    SlackPost,
    notifier_resources,
)
from analytics_platform.settings import PAGERDUTY_EVENTS_URL, SLACK_API_URL

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "DESTINATION_KINDS",
    "MAX_DEDUP_KEY_CHARS",
    "MAX_HEADER_CHARS",
    "MAX_SUMMARY_CHARS",
    "PAGERDUTY_EVENTS_URL",
    "REDACTED",
    "SEVERITIES",
    "SLACK_API_URL",
    "Alert",
    "AlertingConfig",
    "AlertingConfigError",
    "Categories",
    "Condition",
    "Delivery",
    "Destination",
    "DestinationKind",
    "JSONValue",
    "PagerDutyDestination",
    "PagerDutyError",
    "PagerDutyNotifier",
    "PagerDutySeverity",
    "PagerDutyTrigger",
    "Rule",
    "Severity",
    "SlackDestination",
    "SlackMessage",
    "SlackNotifier",
    "SlackPost",
    "Threshold",
    "alert_link",
    "classify",
    "clear",
    "dedup_key",
    "dispatch",
    "dispatch_resolved",
    "format_resolved_message",
    "format_slack_message",
    "load_alerting_config",
    "notifier_resources",
    "pagerduty_trigger",
    "parse_alerting_config",
    "redact",
    "route",
]
