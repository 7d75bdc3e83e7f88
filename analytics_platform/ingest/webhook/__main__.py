"""``python -m analytics_platform.ingest.webhook``: serve the receiver."""

from analytics_platform.ingest.webhook.cli import main

main()
