"""The state of the local PagerDuty service: event validation, incidents and de-duplication.

Follows the Events API v2 rules: ``routing_key`` and ``event_action`` are required; a trigger
needs ``payload.summary``, ``payload.source`` and a ``payload.severity`` among critical, error,
warning and info; acknowledge and resolve need a ``dedup_key``. A trigger whose ``dedup_key``
matches an open incident (same routing key) is folded into it instead of opening a second one;
acknowledge and resolve apply to the open incident or are dropped; once resolved, a trigger
with the same key opens a new incident. Everything received is appended to ``events.jsonl``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
MAX_DEDUP_KEY_CHARS = 255
MAX_SUMMARY_CHARS = 1024


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def mask(secret: str) -> str:
    """A routing key as the page and the log show it: enough to tell keys apart, no more."""
    return f"{secret[:4]}…({len(secret)} chars)" if secret else ""


def validate(event: Any, routing_key: str | None) -> list[str]:
    """Every reason ``event`` is invalid, worded as the Events API words them (empty: valid)."""
    if not isinstance(event, dict):
        return ["Event object must be a JSON object"]
    errors: list[str] = []
    key = event.get("routing_key")
    if _blank(key):
        errors.append("'routing_key' is missing or blank")
    elif not isinstance(key, str) or (routing_key is not None and key != routing_key):
        errors.append("Invalid routing key")
    action = event.get("event_action")
    if _blank(action):
        errors.append("'event_action' is missing or blank")
    elif action not in EVENT_ACTIONS:
        errors.append(
            "'event_action' is invalid (must be one of the following: "
            "'trigger', 'acknowledge' or 'resolve')"
        )
    dedup_key = event.get("dedup_key")
    if dedup_key is not None and not isinstance(dedup_key, str):
        errors.append("'dedup_key' must be a string")
    elif isinstance(dedup_key, str) and len(dedup_key) > MAX_DEDUP_KEY_CHARS:
        errors.append(f"'dedup_key' is too long (maximum is {MAX_DEDUP_KEY_CHARS} characters)")
    if action in ("acknowledge", "resolve") and _blank(dedup_key):
        errors.append("'dedup_key' is missing or blank")
    if action == "trigger":
        errors.extend(_validate_payload(event.get("payload")))
    errors.extend(_validate_context(event, "links", "href"))
    errors.extend(_validate_context(event, "images", "src"))
    return errors


def _validate_payload(payload: Any) -> list[str]:
    if payload is None:
        return ["'payload' is missing or blank"]
    if not isinstance(payload, dict):
        return ["'payload' must be an object"]
    errors = [
        f"'payload.{name}' is missing or blank"
        for name in ("summary", "source", "severity")
        if _blank(payload.get(name))
    ]
    severity = payload.get("severity")
    if not _blank(severity) and severity not in SEVERITIES:
        errors.append(
            "'payload.severity' is invalid (must be one of the following: "
            "'critical', 'warning', 'error' or 'info')"
        )
    timestamp = payload.get("timestamp")
    if timestamp is not None:
        try:
            datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
        except ValueError:
            errors.append("'payload.timestamp' is not a valid ISO 8601 timestamp")
    details = payload.get("custom_details")
    if details is not None and not isinstance(details, dict | str):
        errors.append("'payload.custom_details' must be an object")
    return errors


def _validate_context(event: dict[str, Any], name: str, required: str) -> list[str]:
    items = event.get(name)
    if items is None:
        return []
    if not isinstance(items, list):
        return [f"'{name}' must be an array"]
    return [
        f"'{name}[{index}].{required}' is missing or blank"
        for index, item in enumerate(items)
        if not isinstance(item, dict) or _blank(item.get(required))
    ]


@dataclass
class Incident:
    """One incident opened by a trigger event and closed by a resolve event."""

    id: str
    number: int
    dedup_key: str
    routing_key: str
    title: str
    severity: str
    urgency: str
    status: str
    source: str
    component: str | None
    created_at: float
    last_event_at: float
    event_count: int = 1
    acknowledged_at: float | None = None
    resolved_at: float | None = None
    links: list[dict[str, Any]] = field(default_factory=list)
    custom_details: Any = None

    @property
    def is_open(self) -> bool:
        """Open incidents collect further events with the same dedup key."""
        return self.status in ("triggered", "acknowledged")


@dataclass
class Service:
    """Received events and the incidents they opened; safe to use from many threads."""

    home: Path
    routing_key: str | None = None
    events: list[dict[str, Any]] = field(init=False, default_factory=list)
    incidents: list[Incident] = field(init=False, default_factory=list)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        """Create the home; events of an earlier run stay in the file, not in this run."""
        self.home.mkdir(parents=True, exist_ok=True)

    @property
    def log_path(self) -> Path:
        """The JSON-lines file every received event (valid or not) is appended to."""
        return self.home / "events.jsonl"

    def receive(self, body: Any) -> tuple[str | None, list[str]]:
        """Validate and apply one event; returns (dedup_key, errors)."""
        errors = validate(body, self.routing_key)
        with self._lock:
            if errors:
                self._record(body, outcome="rejected", errors=errors)
                return None, errors
            dedup_key = body.get("dedup_key") or uuid.uuid4().hex
            outcome = self._apply(body, dedup_key)
            self._record(body, outcome=outcome, dedup_key=dedup_key)
            return dedup_key, []

    def _apply(self, event: dict[str, Any], dedup_key: str) -> str:
        now = time.time()
        open_incident = next(
            (
                incident
                for incident in self.incidents
                if incident.is_open
                and incident.dedup_key == dedup_key
                and incident.routing_key == event["routing_key"]
            ),
            None,
        )
        action = event["event_action"]
        if action == "trigger":
            if open_incident is not None:
                open_incident.event_count += 1
                open_incident.last_event_at = now
                return f"deduplicated into {open_incident.id}"
            incident = self._open(event, dedup_key, now)
            return f"opened {incident.id}"
        if open_incident is None:
            return "dropped: no open incident with this dedup_key"
        open_incident.event_count += 1
        open_incident.last_event_at = now
        if action == "acknowledge":
            open_incident.status = "acknowledged"
            open_incident.acknowledged_at = now
            return f"acknowledged {open_incident.id}"
        open_incident.status = "resolved"
        open_incident.resolved_at = now
        return f"resolved {open_incident.id}"

    def _open(self, event: dict[str, Any], dedup_key: str, now: float) -> Incident:
        payload = event["payload"]
        number = len(self.incidents) + 1
        summary = str(payload["summary"])[:MAX_SUMMARY_CHARS]
        incident = Incident(
            id=f"PLOC{number:04d}",
            number=number,
            dedup_key=dedup_key,
            routing_key=event["routing_key"],
            title=summary,
            severity=payload["severity"],
            urgency="high" if payload["severity"] in ("critical", "error") else "low",
            status="triggered",
            source=str(payload["source"]),
            component=payload.get("component"),
            created_at=now,
            last_event_at=now,
            links=list(event.get("links") or []),
            custom_details=payload.get("custom_details"),
        )
        self.incidents.append(incident)
        return incident

    def _record(self, body: Any, outcome: str, **extra: Any) -> None:
        event = dict(body) if isinstance(body, dict) else {"body": body}
        # The routing key is the integration's secret: keep it out of files and pages.
        if isinstance(event.get("routing_key"), str):
            event["routing_key"] = mask(event["routing_key"])
        record = {"received_at": time.time(), "outcome": outcome, "event": event, **extra}
        self.events.append(record)
        with self.log_path.open("a") as log:
            log.write(json.dumps(record, default=str) + "\n")

    def snapshot(self) -> dict[str, Any]:
        """Every event and incident, as ``GET /_recorded`` returns them."""
        with self._lock:
            return {
                "events": list(self.events),
                "incidents": [
                    asdict(incident) | {"routing_key": mask(incident.routing_key)}
                    for incident in self.incidents
                ],
            }

    def reset(self) -> None:
        """Forget every event and incident: lets one service serve many tests."""
        with self._lock:
            self.events.clear()
            self.incidents.clear()
            self.log_path.unlink(missing_ok=True)
