"""FastAPI exception handlers: API errors, validation errors and HTTP errors all leave in the one JSON shape.

The catch-all for unexpected exceptions lives in the middleware (Starlette re-raises from a handler
registered for Exception).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from lambda_handler import errors
from lambda_handler.request_context import RequestRecord
from lambda_handler.schemas import ErrorDetail


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]


def _respond(request: Request, status: int, message: str, code: str, details: Iterable[ErrorDetail] = (),
             headers: Mapping[str, str] | None = None) -> Response:  # fmt: skip
    record: RequestRecord = request.state.record
    record.error_code = code
    content = errors.render(status, message, record.request_id, code=code, details=details)
    return Response(content, status_code=status, media_type="application/json", headers=headers)


async def _api_error(request: Request, exc: errors.ApiError) -> Response:
    return _respond(request, exc.status, exc.message, exc.code, exc.details)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    details = errors.validation_details(exc.errors())
    return _respond(request, 422, "the request is not valid", "validation_error", details)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    messages = {404: "no such endpoint", 405: f"method {request.method} not allowed here"}
    message = messages.get(exc.status_code, str(exc.detail))
    return _respond(
        request, exc.status_code, message, errors.code_for_status(exc.status_code), headers=exc.headers
    )
