"""The FastAPI app: Fivetran's `/v1` routers and the `/admin` router over one service."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from standins.fivetran.api import admin, connections, groups, syncs, webhooks
from standins.fivetran.api.deps import ApiContext, authenticate, rate_limit
from standins.fivetran.api.errors import install_error_handlers
from standins.fivetran.service import FivetranService


def build_app(service: FivetranService, api_key: str, api_secret: str) -> FastAPI:
    """The ASGI app over a running service, answering to one API key and secret.

    `/docs` and `/openapi.json` describe it and need no credentials.
    """
    app = FastAPI(
        title="Local Fivetran",
        description="Fivetran REST API v1 (the part the platform uses) and a local admin API.",
        version="1",
    )
    app.state.fivetran = ApiContext(service, api_key, api_secret)
    install_error_handlers(app)
    fivetran = [Depends(authenticate), Depends(rate_limit)]
    app.include_router(groups.router, dependencies=fivetran)
    app.include_router(webhooks.router, dependencies=fivetran)
    app.include_router(admin.router, dependencies=[Depends(authenticate)])
    for prefix in ("/v1/connectors", "/v1/connections"):
        app.include_router(connections.router, prefix=prefix, dependencies=fivetran)
        app.include_router(syncs.router, prefix=prefix, dependencies=fivetran)
    return app
