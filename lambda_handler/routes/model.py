"""`/model`: which model version this instance serves, its thresholds, features and holdout metrics."""

from __future__ import annotations

from fastapi import APIRouter

from lambda_handler import service
from lambda_handler.deps import ModelCacheDep, RecordDep
from lambda_handler.routes.responses import errors_for
from lambda_handler.schemas import ModelResponse

router = APIRouter(tags=["model"])


@router.get(
    "/model", response_model=ModelResponse, responses=errors_for(503), summary="The model being served"
)
async def model(cache: ModelCacheDep, record: RecordDep) -> ModelResponse:
    scorer = cache.get()
    record.model_version = scorer.version
    return service.model_info(scorer)
