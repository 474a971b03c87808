"""Route dependencies as Annotated aliases; all `async def` (plain `def` ones run in a thread pool)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from lambda_handler import errors, events
from lambda_handler.config import Settings, get_settings
from lambda_handler.model_cache import ModelCache, get_model_cache
from lambda_handler.policy_cache import ActivePolicy, get_policy_cache
from lambda_handler.request_context import RequestRecord
from lambda_handler.schemas import ErrorDetail


async def _settings() -> Settings:
    return get_settings()


async def _model_cache() -> ModelCache:
    return get_model_cache()  # no I/O here: routes call .get() after their input validated


async def _policy() -> ActivePolicy:
    return get_policy_cache().get()  # never fails: the last good policy, or the default


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


def _declared_query(dependant: Any) -> set[str]:
    """The query parameters a route (and its dependencies) declares."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _declared_query(sub)
    return names


async def strict_query(request: Request) -> None:
    """422 for a query parameter the route does not declare, or one given twice: like an unknown body field,
    a typo (`?explian=true`) must not silently become "absent"."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    declared = _declared_query(dependant) if dependant is not None else set()
    details = []
    for name in dict.fromkeys(request.query_params.keys()):
        if name not in declared:
            details.append(ErrorDetail(field=f"query.{name[:60]}", reason="unknown query parameter"))
        elif len(request.query_params.getlist(name)) > 1:
            details.append(ErrorDetail(field=f"query.{name}", reason="given more than once"))
    if details:
        raise errors.QueryError("the request is not valid", details[: errors.MAX_DETAILS])


SettingsDep = Annotated[Settings, Depends(_settings)]
ModelCacheDep = Annotated[ModelCache, Depends(_model_cache)]
RecordDep = Annotated[RequestRecord, Depends(_record)]
PolicyDep = Annotated[ActivePolicy, Depends(_policy)]
