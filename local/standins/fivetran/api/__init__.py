"""Fivetran REST API v1 (the part our platform and dagster-fivetran use) plus a local admin API.

Fivetran's conventions are kept: HTTP Basic auth with API key and secret, every answer in a
`{"code": "Success", "data": ...}` envelope, lists as `{"items": [...], "next_cursor": ...}`
paged by `limit` (default 100, max 1000) and an opaque `cursor`, 404 for unknown ids, 400 with
a message for a malformed body, 429 with `Retry-After` above the configured request rate.
Connections answer on both `/v1/connectors/...` and `/v1/connections/...`.

`/admin/...` is not Fivetran: faults, drift, sync history and waiting for idle, for tests,
benchmarks and the launcher. It takes the same credentials.

Modules: `app` (build_app), `deps` (auth, rate limit, ids, bodies), `envelope`, `errors`,
`models` (request bodies), `views` (response shapes) and one router per resource: `groups`,
`connections`, `syncs`, `webhooks`, `admin`.
"""

from standins.fivetran.api.app import build_app
from standins.fivetran.api.deps import RateLimiter
from standins.fivetran.api.envelope import ok
from standins.fivetran.api.errors import ApiError

__all__ = ["ApiError", "RateLimiter", "build_app", "ok"]
