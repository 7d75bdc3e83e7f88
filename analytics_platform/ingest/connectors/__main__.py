"""``python -m analytics_platform.ingest.connectors plan|apply``."""

from analytics_platform.ingest.connectors.cli import app

app()
