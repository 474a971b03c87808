"""`/predict` (one transaction) and `/predict/batch` (many, in order).

The handler's fast path serves the same two routes straight from Lambda events, through the same
service functions; these are the reference it is tested against. No `from __future__ import annotations`
here: the batch route's body model is built per app (its item limit is a setting), so its annotation must
be the class itself, not a name FastAPI would look up in this module.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from fraud_model.transaction import Transaction
from lambda_handler import service
from lambda_handler.deps import ModelCacheDep, PolicyDep, RecordDep, require_json
from lambda_handler.routes.responses import errors_for
from lambda_handler.schemas import BatchResponse, PredictResponse, batch_request


def build_router(max_batch_size: int) -> APIRouter:
    router = APIRouter(
        tags=["predict"], dependencies=[Depends(require_json)], responses=errors_for(400, 413, 415, 422, 503)
    )
    batch_model = batch_request(max_batch_size)

    @router.post("/predict", response_model=PredictResponse, summary="Score one transaction")
    async def predict(
        transaction: Transaction,
        cache: ModelCacheDep,
        record: RecordDep,
        policy: PolicyDep,
        explain: Annotated[bool, Query(description="add the top reasons (TreeSHAP)")] = False,
    ) -> PredictResponse:
        scorer = cache.get()
        return service.predict(scorer, transaction, explain=explain, record=record, policy=policy)

    @router.post("/predict/batch", response_model=BatchResponse, summary="Score many transactions, in order")
    async def predict_batch(
        request: batch_model,  # type: ignore[valid-type]  # a class, built above
        cache: ModelCacheDep,
        record: RecordDep,
        policy: PolicyDep,
    ) -> Response:
        transactions = request.transactions  # type: ignore[attr-defined]
        # The body is a BatchResponse, encoded once by lambda_handler.wire (the fast path's bytes too).
        content = service.predict_batch(cache.get(), transactions, record=record, policy=policy)
        return Response(content=content, media_type="application/json")

    return router
