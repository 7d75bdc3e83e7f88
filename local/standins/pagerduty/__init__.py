"""A local PagerDuty Events API v2: the stand-in the platform's pager talks to on 127.0.0.1."""
