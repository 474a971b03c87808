"""Route dependencies as Annotated aliases; all `async def` (plain `def` ones run in a thread pool)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from lambda_handler import errors, events
from lambda_handler.config import Settings, get_settings
from lambda_handler.model_cache import ModelCache, get_model_cache
from lambda_handler.request_context import RequestRecord
from lambda_handler.schemas import ErrorDetail


async def _settings() -> Settings:
    return get_settings()


async def _model_cache() -> ModelCache:
    return get_model_cache()  # no I/O here: routes call .get() after their input validated


async def _record(request: Request) -> RequestRecord:
    record: RequestRecord = request.state.record
    return record


async def require_json(request: Request) -> None:
    """415 for a body that is not declared JSON; a missing body is left to validation (422)."""
    content_type = request.headers.get("content-type")
    if await request.body() and not events.is_json(content_type):
        reason = f"expected application/json, got {content_type[:60] if content_type else 'no content type'}"
        raise errors.UnsupportedMediaTypeError(
            "send the body as JSON with Content-Type: application/json",
            [ErrorDetail(field="content-type", reason=reason)],
        )


SettingsDep = Annotated[Settings, Depends(_settings)]
ModelCacheDep = Annotated[ModelCache, Depends(_model_cache)]
RecordDep = Annotated[RequestRecord, Depends(_record)]
