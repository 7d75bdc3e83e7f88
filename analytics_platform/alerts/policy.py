"""Alerting policy: ``alerting.yaml`` validated into typed rules, and a value into a severity.

The file's schema is a set of pydantic models (unknown keys are refused, every value is
type-checked); a file that does not fit raises :class:`AlertingConfigError` naming the file and
the dotted key of each problem. The validated file becomes an :class:`AlertingConfig`, the flat,
frozen shape the sensors and the renderers read; :func:`classify` applies one rule to a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from analytics_platform.settings import ALERTING_CONFIG_PATH

Severity = Literal["warning", "critical"]
DestinationKind = Literal["slack", "pagerduty"]

SEVERITIES: tuple[Severity, ...] = get_args(Severity)
DESTINATION_KINDS: tuple[DestinationKind, ...] = get_args(DestinationKind)
DEFAULT_CONFIG_PATH = ALERTING_CONFIG_PATH


class AlertingConfigError(ValueError):
    """``alerting.yaml`` is missing a key, has an unknown one, or holds a bad value."""


# --- the typed configuration the platform reads -------------------------------------------


@dataclass(frozen=True)
class Threshold:
    """A numeric condition: ``above`` is strict (``> 30 min``), ``at_least`` is not (``3 failures``)."""

    above: float | None = None
    at_least: float | None = None

    def met(self, value: float | str) -> bool:
        """Whether ``value`` crosses this threshold."""
        if isinstance(value, str):
            raise TypeError(f"a threshold needs a number, got {value!r}")
        if self.above is not None:
            return value > self.above
        return self.at_least is not None and value >= self.at_least


@dataclass(frozen=True)
class Categories:
    """A categorical condition: the value (a dbt layer, a test severity…) is one of these."""

    values: frozenset[str]

    def met(self, value: float | str) -> bool:
        """Whether ``value`` is one of the categories."""
        return str(value) in self.values


Condition = Threshold | Categories


@dataclass(frozen=True)
class Rule:
    """One row of the alert matrix: a metric, its warning and critical conditions, its route."""

    name: str
    component: str
    metric: str
    warning: Condition | None
    critical: Condition | None
    otherwise: Severity | None = None
    route: dict[Severity, tuple[DestinationKind, ...]] | None = None
    slack_channel: str | None = None


@dataclass(frozen=True)
class AlertingConfig:
    """The typed contents of ``alerting.yaml``."""

    dagster_ui_url: str
    slack_channel: str
    dedup_key_template: str
    pagerduty_group: str
    routing: dict[Severity, tuple[DestinationKind, ...]]
    rules: dict[str, Rule]

    def rule(self, name: str) -> Rule:
        """The rule called ``name``; the error lists the known ones, since a typo is likely."""
        try:
            return self.rules[name]
        except KeyError:
            known = ", ".join(sorted(self.rules))
            raise KeyError(f"no alert rule {name!r} in alerting.yaml (known: {known})") from None


# --- the file's schema --------------------------------------------------------------------


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("required, a non-empty string")
    return value


Text = Annotated[StrictStr, AfterValidator(_not_blank)]
Number = Annotated[float, Field(strict=True)]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ConditionSpec(_Schema):
    """``{above: N}``, ``{at_least: N}`` or ``{in: [...]}``: exactly one of them."""

    above: Number | None = None
    at_least: Number | None = None
    in_: Annotated[list[Any] | None, Field(alias="in", min_length=1)] = None

    @model_validator(mode="after")
    def _exactly_one(self) -> _ConditionSpec:
        if len(self.model_fields_set) != 1:
            raise ValueError("give exactly one of above, at_least, in")
        return self

    def condition(self) -> Condition:
        if self.in_ is not None:
            return Categories(frozenset(str(item) for item in self.in_))
        return Threshold(above=self.above, at_least=self.at_least)


class _RoutingSpec(_Schema):
    """Destinations per severity; a severity left out goes nowhere."""

    warning: list[DestinationKind] = []
    critical: list[DestinationKind] = []

    def routing(self) -> dict[Severity, tuple[DestinationKind, ...]]:
        return {"warning": tuple(self.warning), "critical": tuple(self.critical)}


class _RuleSpec(_Schema):
    component: Text
    metric: Text
    warning: _ConditionSpec | None = None
    critical: _ConditionSpec | None = None
    otherwise: Severity | None = None
    route: _RoutingSpec | None = None
    slack_channel: StrictStr | None = None

    @model_validator(mode="after")
    def _says_something(self) -> _RuleSpec:
        if self.warning is None and self.critical is None and self.otherwise is None:
            raise ValueError("needs a warning or a critical condition")
        return self

    def rule(self, name: str) -> Rule:
        return Rule(
            name=name,
            component=self.component,
            metric=self.metric,
            warning=self.warning.condition() if self.warning else None,
            critical=self.critical.condition() if self.critical else None,
            otherwise=self.otherwise,
            route=self.route.routing() if self.route else None,
            slack_channel=self.slack_channel,
        )


class _SlackSpec(_Schema):
    channel: Text


class _PagerDutySpec(_Schema):
    dedup_key: Text
    group: Text

    @field_validator("dedup_key")
    @classmethod
    def _names_the_problem(cls, template: str) -> str:
        if "{rule}" not in template or "{where}" not in template:
            raise ValueError("must contain {rule} and {where}")
        return template


class _AlertingFile(_Schema):
    version: Literal[1]
    dagster_ui_url: Text
    slack: _SlackSpec
    pagerduty: _PagerDutySpec
    routing: _RoutingSpec
    rules: Annotated[dict[str, _RuleSpec], Field(min_length=1)]
    # The account's monthly credit budget: validated by
    # analytics_platform.alerts.cost.load_monthly_credit_quota, which the cost sensor reads.
    snowflake: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _version_first(cls, data: Any) -> Any:
        # A file of another version may be shaped differently: say that, not its other errors.
        if isinstance(data, dict) and data.get("version") != 1:
            raise ValueError(f"version must be 1, got {data.get('version')!r}")
        return data

    def config(self) -> AlertingConfig:
        return AlertingConfig(
            dagster_ui_url=self.dagster_ui_url,
            slack_channel=self.slack.channel,
            dedup_key_template=self.pagerduty.dedup_key,
            pagerduty_group=self.pagerduty.group,
            routing=self.routing.routing(),
            rules={name: spec.rule(name) for name, spec in self.rules.items()},
        )


_PHRASES = {
    "extra_forbidden": "unknown key",
    "missing": "required",
    "float_type": "a number, got {input!r}",
    "dict_type": "expected a mapping, got {input!r}",
    "model_type": "expected a mapping, got {input!r}",
    "literal_error": "one of {expected}, got {input!r}",
}


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "value_error":
        message = str(error["ctx"]["error"])
    elif error["type"] in _PHRASES:
        phrase = _PHRASES[error["type"]]
        message = phrase.format(input=error.get("input"), **error.get("ctx", {}))
    else:
        message = str(error["msg"])
    return f"{where}: {message}" if where else message


def parse_alerting_config(
    data: Any, *, dagster_ui_url: str | None = None, source: str = "alerting.yaml"
) -> AlertingConfig:
    """Validate the parsed YAML ``data`` into an :class:`AlertingConfig`.

    Args:
        data: The file's contents, as ``yaml.safe_load`` returns them.
        dagster_ui_url: Overrides the file's ``dagster_ui_url`` (which may then be absent).
        source: The file's name, for error messages.

    Raises:
        AlertingConfigError: Naming ``source`` and the dotted key of every problem.
    """
    if dagster_ui_url and isinstance(data, dict):
        data = {**data, "dagster_ui_url": dagster_ui_url}
    try:
        parsed = _AlertingFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise AlertingConfigError(f"{source}: {problems}") from None
    return parsed.config()


def load_alerting_config(
    path: Path | None = None, *, dagster_ui_url: str | None = None
) -> AlertingConfig:
    """Load ``alerting.yaml`` (default: the repository's) into an :class:`AlertingConfig`.

    Args:
        path: The file to read; the repository's ``alerting.yaml`` when None.
        dagster_ui_url: The Dagster UI base URL for links (settings pass ``DAGSTER_UI_URL``);
            the file's ``dagster_ui_url`` when None.

    Returns:
        The validated configuration.
    """
    path = path or DEFAULT_CONFIG_PATH
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise AlertingConfigError(f"cannot read {path}: {exc}") from exc
    return parse_alerting_config(data or {}, dagster_ui_url=dagster_ui_url, source=str(path))


def classify(rule_name: str, value: float | str, config: AlertingConfig) -> Severity | None:
    """The severity of measuring ``value`` for ``rule_name``, or None when nothing is wrong.

    Critical wins over warning, so one call covers both thresholds of a row.
    """
    rule = config.rule(rule_name)
    if rule.critical is not None and rule.critical.met(value):
        return "critical"
    if rule.warning is not None and rule.warning.met(value):
        return "warning"
    if isinstance(rule.warning or rule.critical, Categories):
        return rule.otherwise
    return None
