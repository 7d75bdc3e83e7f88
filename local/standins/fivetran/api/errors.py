"""Fivetran's error envelope, and the handlers that put every failure into it.

Fivetran answers errors as `{"code": ..., "message": ...}` with the HTTP status; FastAPI's own
answers (422 validation bodies, `{"detail": ...}` 404/405) are replaced by that shape so
clients see one error format whatever layer refused the request.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response


class ApiError(Exception):
    """An error answered in Fivetran's shape."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        """Keep the HTTP status, Fivetran's error code, the message and any extra headers."""
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def invalid_input(message: str) -> ApiError:
    """A 400 for a request Fivetran would reject as malformed."""
    return ApiError(400, "InvalidInput", message)


def error_response(exc: ApiError) -> JSONResponse:
    """The error envelope of `exc`."""
    return JSONResponse(
        {"code": exc.code, "message": exc.message}, status_code=exc.status, headers=exc.headers
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    """Parameter validation FastAPI does itself (path and query types) answers 400."""
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    return error_response(invalid_input(f"{where}: {first.get('msg', 'invalid request')}"))


async def _not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse(
        {"code": "NotFound", "message": f"No such endpoint {request.url.path}"}, status_code=404
    )


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return JSONResponse(
        {"code": "MethodNotAllowed", "message": f"{request.method} not allowed"},
        status_code=405,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse(
        {"code": "Error", "message": str(exc.detail)},
        status_code=exc.status_code,
        headers=exc.headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Answer every refusal (ours, FastAPI's, Starlette's routing) in Fivetran's envelope."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(404, _not_found)
    app.add_exception_handler(405, _method_not_allowed)
