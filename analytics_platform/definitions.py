"""The code location: the only place where Definitions are assembled."""

from __future__ import annotations

import dagster as dg

from analytics_platform import resources

defs: dg.Definitions = dg.Definitions.merge(resources.defs)
