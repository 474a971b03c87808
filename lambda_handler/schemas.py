"""Request and response bodies of the inference API.

A transaction is `fraud_model.transaction.Transaction`, the strict model every scoring entry point shares;
responses are separate models, and every error has the one shape of `ErrorResponse`.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from fraud_model import constants
from fraud_model.transaction import Transaction

_MAX_FIELDS = len(Transaction.model_fields) + 20  # beyond this many, a transaction is refused in one error


class BatchRequest(BaseModel):
    """Many transactions, scored in order (at most `FRAUD_MAX_BATCH_SIZE`)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    transactions: list[Transaction] = Field(min_length=1, max_length=constants.DEFAULT_MAX_BATCH_SIZE)

    @model_validator(mode="before")
    @classmethod
    def _few_fields(cls, data: Any) -> Any:
        """One error for a transaction with far too many fields, not one per unknown field (80,000 unknown
        fields took pydantic 0.5 s to list, then were cut to the first 20 anyway)."""
        items = data.get("transactions") if isinstance(data, dict) else None
        if isinstance(items, list):
            for index, item in enumerate(items):
                if isinstance(item, dict) and len(item) > _MAX_FIELDS:
                    raise PydanticCustomError(
                        "too_many_fields",
                        "transactions[{index}] has {count} fields; a transaction has at most {known}",
                        {"index": index, "count": len(item), "known": len(Transaction.model_fields)},
                    )
        return data


@cache
def batch_request(max_items: int) -> type[BatchRequest]:
    """BatchRequest limited to `max_items` transactions: pydantic checks a list's length before its items
    (a body of 350,000 empty objects is refused in one error, not validated item by item), and the OpenAPI
    document declares the limit as maxItems."""
    limited = Field(min_length=1, max_length=max_items)
    model: type[BatchRequest] = create_model(
        "BatchRequest", __base__=BatchRequest, __doc__=BatchRequest.__doc__,
        transactions=(list[Transaction], limited),
    )  # fmt: skip
    return model


class Reason(BaseModel):
    """One feature's push on the score, in log-odds (TreeSHAP of the native booster)."""

    feature: str
    value: float | None = Field(
        description="the feature's value for this transaction; null when it is not finite (a ratio over a "
        "zero balance, or an amount beyond float32)"
    )
    contribution: float = Field(description="log-odds added by this feature (positive: towards fraud)")


class PredictResponse(BaseModel):
    """The verdict on one transaction."""

    model_config = ConfigDict(protected_namespaces=())

    is_fraud: bool
    confidence: float = Field(ge=0, le=1, description="probability of the returned decision")
    fraud_probability: float = Field(ge=0, le=1)
    threshold: float = Field(description="is_fraud is fraud_probability >= threshold")
    model_version: str
    feature_set: str = Field(description='"full" (type and destination balances present) or "origin"')
    reasons: list[Reason] | None = Field(default=None, description="top reasons, with ?explain=true")
    outcome: str = Field(description="the decision policy's outcome: allow, review, block, ...")
    matched_rules: list[str] = Field(description="ids of the policy's rules that decided it")
    policy_version: str = Field(
        description="the decision policy's version (\"default\": the model's verdict)"
    )


class BatchPrediction(TypedDict):
    """The verdict on one transaction of a batch (a plain dict: a batch builds thousands)."""

    is_fraud: bool
    confidence: float
    fraud_probability: float
    threshold: float
    feature_set: str
    outcome: str
    matched_rules: list[str]


class BatchResponse(BaseModel):
    """Verdicts in the order of the request's transactions."""

    model_config = ConfigDict(protected_namespaces=())

    model_version: str
    policy_version: str
    predictions: list[BatchPrediction]


class PolicyResponse(BaseModel):
    """The decision policy this instance applies, and the lists it names (sizes only)."""

    version: str
    policy: dict[str, Any]
    list_sizes: dict[str, int]


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    status: Literal["ready"] = "ready"
    model_version: str


class FeatureSetInfo(BaseModel):
    """One feature set's champion model."""

    name: str
    library: str
    threshold: float
    inputs: list[str] = Field(description="transaction fields this model needs")
    features: list[str]
    metrics: dict[str, dict[str, Any]] = Field(description="holdout metrics by library")
    evasion_band_top: float | None = Field(
        default=None,
        description="the top of the evasion band (c × threshold): the evasion model may lift a score up to "
        "it, never to the threshold; null when this model has no band",
    )


class ModelResponse(BaseModel):
    """The model version this instance serves."""

    version: str
    trained_at: str
    schema_version: int
    feature_sets: list[FeatureSetInfo] = Field(description="in order of preference")
    threshold_policy: dict[str, Any]


class ErrorDetail(BaseModel):
    field: str = Field(description='where: "amount", "transactions[3].type", "body"')
    reason: str


class ErrorInfo(BaseModel):
    code: str = Field(
        description="validation_error, unsupported_media_type, not_found, model_unavailable, ..."
    )
    message: str
    request_id: str
    details: list[ErrorDetail] = []


class ErrorResponse(BaseModel):
    """The shape of every error this API returns."""

    error: ErrorInfo
