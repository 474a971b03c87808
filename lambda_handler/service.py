"""What the endpoints do, for the FastAPI routes and the fast path alike: same models, same Scorer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fraud_model.features import FEATURE_SETS
from fraud_model.scorer import Scorer
from fraud_model.transaction import Transaction
from lambda_handler.errors import BatchTooLargeError
from lambda_handler.request_context import RequestRecord
from lambda_handler.schemas import (
    BatchPrediction,
    BatchRequest,
    BatchResponse,
    FeatureSetInfo,
    ModelResponse,
    PredictResponse,
    Reason,
)

# Every transaction field some feature set reads (the others are accepted and ignored).
_SCORED_FIELDS = tuple(dict.fromkeys(name for fs in FEATURE_SETS.values() for name in fs.inputs))


def predict(
    scorer: Scorer, transaction: Transaction, *, explain: bool, record: RequestRecord
) -> PredictResponse:
    fields = transaction.__dict__  # the validated field values (None = absent), without a copy
    with np.errstate(all="ignore"):  # absurd but valid amounts overflow float32 features: scored, not warned
        score = scorer.score_one(fields)
        contributions = scorer.explain(fields) if explain else None
    reasons = None
    if contributions is not None:
        reasons = [
            Reason(feature=c.feature, value=c.value, contribution=c.contribution) for c in contributions
        ]
    record.scored(scorer.version, [score.feature_set], int(score.is_fraud))
    return PredictResponse(
        is_fraud=score.is_fraud,
        confidence=score.confidence,
        fraud_probability=score.fraud_probability,
        threshold=score.threshold,
        model_version=scorer.version,
        feature_set=score.feature_set,
        reasons=reasons,
    )


def check_batch_size(request: BatchRequest, max_batch_size: int) -> None:
    if len(request.transactions) > max_batch_size:
        raise BatchTooLargeError(len(request.transactions), max_batch_size)


def predict_batch(
    scorer: Scorer, transactions: Sequence[Mapping[str, Any]], *, record: RequestRecord
) -> BatchResponse:
    """Score validated transactions (Transaction.__dict__ or TransactionFields dicts) in order."""
    fields = {name: [t.get(name) for t in transactions] for name in _SCORED_FIELDS}
    with np.errstate(all="ignore"):
        scores = scorer.score_lists(fields)
    predictions: list[BatchPrediction] = [
        {"is_fraud": f, "confidence": c, "fraud_probability": p, "threshold": t, "feature_set": s}
        for f, c, p, t, s in zip(
            scores.is_fraud.tolist(), scores.confidence.tolist(), scores.fraud_probability.tolist(),
            scores.threshold.tolist(), scores.feature_set, strict=True,
        )
    ]  # fmt: skip
    record.scored(scorer.version, scores.feature_set, int(scores.is_fraud.sum()))
    # Built from the scorer's own numbers: validating a thousand dicts again would only cost time.
    return BatchResponse.model_construct(model_version=scorer.version, predictions=predictions)


def model_info(scorer: Scorer) -> ModelResponse:
    metadata = scorer.metadata
    return ModelResponse(
        version=metadata.version,
        trained_at=metadata.created_at,
        schema_version=metadata.schema_version,
        feature_sets=[
            FeatureSetInfo(
                name=name,
                library=spec.library,
                threshold=spec.threshold,
                inputs=spec.inputs,
                features=spec.features,
                metrics=spec.metrics,
            )
            for name in scorer.feature_sets
            for spec in [scorer.model(name)]
        ],  # fmt: skip
        threshold_policy=metadata.threshold_policy,
    )
