"""Faults the local Fivetran can be told to inject: a failed, slow, rescheduled or crashing sync.

Not Fivetran: tests and the demo arm them through ``/admin/faults`` to prove that the platform
reports, alerts on and recovers from what real syncs do. Each sync consumes what applies to it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Faults:
    """Faults armed for one connector; each sync consumes what applies to it."""

    fail: list[str] = field(default_factory=list)
    slow: list[float] = field(default_factory=list)
    reschedule: list[float] = field(default_factory=list)
    crash: bool = False


class FaultBoard:
    """Armed faults per connector, shared by the API thread and the sync worker."""

    def __init__(self, lock: threading.RLock) -> None:
        """Guard the board with the service's lock (the sync worker takes it to consume)."""
        self._lock = lock
        self.armed: dict[str, Faults] = {}

    def arm(self, connector_id: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Arm a fault for the connector's next sync(s); see the admin API for the shapes."""
        kind = spec.get("type")
        count = int(spec.get("count", 1))
        with self._lock:
            faults = self.armed.setdefault(connector_id, Faults())
            if kind == "fail":
                message = str(spec.get("message") or "injected failure")
                faults.fail.extend([message] * count)
            elif kind == "slow":
                faults.slow.extend([float(spec.get("seconds", 5))] * count)
            elif kind == "reschedule":
                faults.reschedule.extend([float(spec.get("seconds", 5))] * count)
            elif kind == "crash":
                faults.crash = True
            else:
                raise ValueError(f"unknown fault type {kind!r}: fail, slow, reschedule, crash")
            return self.view(connector_id)

    def clear(self, connector_id: str) -> None:
        """Disarm every fault of a connector."""
        with self._lock:
            self.armed.pop(connector_id, None)

    def view(self, connector_id: str) -> dict[str, Any]:
        """Armed faults of a connector."""
        faults = self.armed.get(connector_id, Faults())
        return {
            "fail": list(faults.fail),
            "slow": list(faults.slow),
            "reschedule": list(faults.reschedule),
            "crash": faults.crash,
        }
