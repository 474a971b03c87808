"""Liveness (`/health`, no model needed) and readiness (`/ready`, a model is loaded or loadable)."""

from __future__ import annotations

from fastapi import APIRouter

from lambda_handler.deps import ModelCacheDep, RecordDep
from lambda_handler.routes.responses import errors_for
from lambda_handler.schemas import HealthResponse, ReadyResponse

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse, summary="The function is alive")
async def health() -> HealthResponse:
    return HealthResponse()


@router.get(
    "/ready", response_model=ReadyResponse, responses=errors_for(503), summary="A model can be served"
)
async def ready(cache: ModelCacheDep, record: RecordDep) -> ReadyResponse:
    scorer = cache.get()
    record.model_version = scorer.version
    return ReadyResponse(model_version=scorer.version)
