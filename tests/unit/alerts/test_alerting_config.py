"""alerting.yaml loads into typed config, and a bad file fails naming what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics_platform.notify import AlertingConfigError, load_alerting_config


@pytest.mark.parametrize(
    ("yaml_text", "problem"),
    [
        ("version: 2\n", "version must be 1"),
        ("version: 1\nsurprise: true\n", "unknown key"),
        (
            "version: 1\ndagster_ui_url: u\nslack: {channel: '#a'}\n"
            "pagerduty: {dedup_key: 'k', group: g}\nrouting: {}\nrules: {r: {}}\n",
            "must contain {rule} and {where}",
        ),
        (
            "version: 1\ndagster_ui_url: u\nslack: {channel: '#a'}\n"
            "pagerduty: {dedup_key: '{rule}/{where}', group: g}\nrouting: {warning: [email]}\n"
            "rules: {r: {component: c, metric: m, warning: {above: 1}}}\n",
            "routing.warning",
        ),
        (
            "version: 1\ndagster_ui_url: u\nslack: {channel: '#a'}\n"
            "pagerduty: {dedup_key: '{rule}/{where}', group: g}\nrouting: {}\n"
            "rules: {r: {component: c, metric: m, warning: {above: 1, at_least: 2}}}\n",
            "exactly one of",
        ),
        (
            "version: 1\ndagster_ui_url: u\nslack: {channel: '#a'}\n"
            "pagerduty: {dedup_key: '{rule}/{where}', group: g}\nrouting: {}\n"
            "rules: {r: {component: c, metric: m, warning: {above: thirty}}}\n",
            "rules.r.warning.above: a number",
        ),
    ],
)
def test_loader_rejects_bad_config_naming_the_problem(
    tmp_path: Path, yaml_text: str, problem: str
) -> None:
    path = tmp_path / "alerting.yaml"
    path.write_text(yaml_text)

    with pytest.raises(AlertingConfigError, match=problem.replace("{", r"\{").replace("}", r"\}")):
        load_alerting_config(path)


def test_repository_config_loads_with_its_defaults() -> None:
    config = load_alerting_config()

    assert config.slack_channel == "#data-alerts"
    assert config.dagster_ui_url == "http://127.0.0.1:3000"
    assert config.routing == {"warning": ("slack",), "critical": ("slack", "pagerduty")}
