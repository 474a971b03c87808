"""`POST /labels`: a case-management system says what turned out to be fraud, for recorded decisions.

A batch is checked whole: any bad label refuses the request (422, each with its position and reason) and
nothing is written; a good one is appended to `labels/` in the store. Posting the same batch twice changes
nothing (the latest `label_time` wins when labels are read). The gateway lets only IAM-signed callers in.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from fraud_model import labels
from fraud_model.errors import FraudError
from fraud_model.store import Store, open_store
from lambda_handler.config import get_settings
from lambda_handler.deps import require_json
from lambda_handler.errors import ApiError, QueryError, code_for_status
from lambda_handler.routes.responses import errors_for
from lambda_handler.schemas import ErrorDetail

MAX_LABELS = 1_000  # a full batch stays far below the body limit: too many is a 422, not a 413


def _iso_8601(value: Any) -> datetime:
    """Only what the schema declares (a date-time string): pydantic would also take Unix times."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 time, as a string")  # noqa: TRY004 - pydantic wants ValueError
    return labels.parse_time(value)


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_id: Annotated[str, Field(min_length=3, max_length=200, pattern=r"^.+:[0-9]+$")] = Field(
        description="`<request id>:<item>`: the answer's X-Request-Id, and the transaction's position in its "
        "request (0 for /predict)"
    )
    label: Literal["fraud", "legitimate"] | bool = Field(description="fraud / legitimate, or true / false")
    label_time: Annotated[datetime, BeforeValidator(_iso_8601)] = Field(
        description="when it became known (ISO 8601; UTC when no zone)"
    )
    source: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class LabelsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: Annotated[list[LabelIn], Field(min_length=1, max_length=MAX_LABELS)]


class LabelsOut(BaseModel):
    accepted: int


class StoreUnavailableError(ApiError):
    status = 503
    code = code_for_status(503)


router = APIRouter(
    tags=["labels"], dependencies=[Depends(require_json)], responses=errors_for(400, 413, 415, 422, 503)
)


@lru_cache(maxsize=4)
def _store(uri: str) -> Store:
    return open_store(uri)


@router.post("/labels", response_model=LabelsOut, summary="Label recorded decisions (fraud or legitimate)")
async def post_labels(body: LabelsIn) -> LabelsOut:
    rows: list[dict[str, Any]] = [label.model_dump(exclude_none=True) for label in body.labels]
    parsed = labels.parse_rows(rows, source="api")
    if parsed.refused:
        details = [ErrorDetail(field=f"labels[{r.row - 1}]", reason=r.reason) for r in parsed.refused]
        raise QueryError("some labels are not valid: none were written", details)
    try:
        labels.write(_store(get_settings().model_store), parsed)
    except FraudError as exc:  # the store is down: the caller retries (the same batch is harmless twice)
        raise StoreUnavailableError("the labels could not be stored; retry later") from exc
    return LabelsOut(accepted=len(parsed))
