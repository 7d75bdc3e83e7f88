"""The outside world, locally: the source estate, Fivetran, Slack, PagerDuty and Snowflake stand-ins.

Each speaks its vendor's real API on 127.0.0.1. Production code never imports this package: it
reaches a stand-in only through a base URL, exactly as it reaches the real vendor.
"""
