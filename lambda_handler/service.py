"""What the endpoints do, for the FastAPI routes and the fast path alike: same models, same Scorer."""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import numpy as np

from fraud_model import records
from fraud_model.columnar import columns as policy_columns
from fraud_model.errors import ArtifactError
from fraud_model.features import FEATURE_SETS
from fraud_model.policy import MODEL_VARIABLES, model_variables
from fraud_model.scorer import Contribution, Scorer
from fraud_model.transaction import Transaction
from lambda_handler import observability, wire
from lambda_handler.errors import ModelUnavailableError
from lambda_handler.policy_cache import ActivePolicy
from lambda_handler.recording import get_recorder
from lambda_handler.request_context import RequestRecord
from lambda_handler.schemas import (
    FeatureSetInfo,
    ModelResponse,
    PolicyResponse,
    PredictResponse,
    Reason,
)

# Every transaction field some feature set reads (the others are accepted and ignored).
_SCORED_FIELDS = tuple(dict.fromkeys(name for fs in FEATURE_SETS.values() for name in fs.inputs))
# What a policy may read that is not a transaction's field, or that the scorer already made an array of.
_NOT_READ = frozenset({*MODEL_VARIABLES, *_SCORED_FIELDS})


def predict(
    scorer: Scorer,
    transaction: Transaction,
    *,
    explain: bool,
    record: RequestRecord,
    policy: ActivePolicy,
) -> PredictResponse:
    fields = transaction.__dict__  # the validated field values (None = absent), without a copy
    with np.errstate(all="ignore"):  # absurd but valid amounts overflow float32 features: scored, not warned
        score = scorer.score_one(fields)
        contributions = _explain(scorer, fields) if explain else None
    reasons = None
    if contributions is not None:
        reasons = [
            Reason(
                feature=c.feature,
                value=c.value if math.isfinite(c.value) else None,
                contribution=c.contribution,
            )
            for c in contributions
        ]
    record.scored(scorer.version, [score.feature_set], int(score.is_fraud))
    decision = policy.policy.decide({**fields, **model_variables(score)}, policy.lists)
    recorder = get_recorder()
    if recorder.active:  # with records off, no record is built at all; else when it is written
        request_id, received = record.request_id, records.now()
        recorder.add(
            lambda: records.Chunk(request_id, "predict", received, scorer.version, policy.version,
                                  {name: (fields[name],) for name in records.TRANSACTION_FIELDS},
                                  (score.fraud_probability,), (score.threshold,), (score.is_fraud,),
                                  (score.feature_set,), (decision.outcome,), (decision.matched,)),
            1,
        )  # fmt: skip
    return PredictResponse(
        is_fraud=score.is_fraud,
        confidence=score.confidence,
        fraud_probability=score.fraud_probability,
        threshold=score.threshold,
        model_version=scorer.version,
        feature_set=score.feature_set,
        reasons=reasons,
        outcome=decision.outcome,
        matched_rules=list(decision.matched),
        policy_version=policy.version,
    )


def _explain(scorer: Scorer, fields: dict[str, Any]) -> list[Contribution]:
    """TreeSHAP reasons; 503 when this version's native booster does not load (scores still work: they
    come from the forest export), never a 500."""
    try:
        return scorer.explain(fields)
    except ArtifactError as exc:
        observability.model_load_failed(scorer.version, exc, serving=scorer.version)
        raise ModelUnavailableError(
            "explanations are unavailable for the model version being served"
        ) from exc


def predict_batch(
    scorer: Scorer, transactions: Sequence[Any], *, record: RequestRecord, policy: ActivePolicy
) -> bytes:
    """The response body for validated transactions (Transaction or wire.TransactionWire), in order."""
    fields = {name: list(map(attrgetter(name), transactions)) for name in _SCORED_FIELDS}
    # the policy's other fields now, while the transactions are in the cache (the forest walk evicts them)
    read = {name: list(map(attrgetter(name), transactions)) for name in policy.policy.variables - _NOT_READ}
    with np.errstate(all="ignore"):
        scores = scorer.score_lists(fields)
    record.scored(scorer.version, scores.feature_set, int(scores.is_fraud.sum()))
    variables = policy_columns({**read, **scores.inputs, **model_variables(scores)}, policy.policy.variables)
    decisions = policy.policy.decide_columns(variables, policy.lists)
    recorder = get_recorder()
    if recorder.active:  # with records off, nothing more is read from the transactions
        recorded = _Fields(transactions, {**read, **fields, **scores.inputs})  # as scored and decided
        recorded["type"] = fields["type"]  # names, not the scorer's codes
        request_id, received = record.request_id, records.now()
        recorder.add(
            lambda: records.Chunk(request_id, "batch", received, scorer.version, policy.version, recorded,
                                  scores.fraud_probability, scores.threshold, scores.is_fraud,
                                  scores.feature_set, decisions.outcome, decisions.matched),
            len(transactions),
        )  # fmt: skip
    return wire.encode_batch(scorer.version, scores, policy.version, decisions.outcome, decisions.matched)


class _Fields(dict[str, Any]):
    """A batch's record fields: those already read, and the others read from the transactions when the
    record is written (on Lambda, after the answer has been posted)."""

    def __init__(self, transactions: Sequence[Any], known: dict[str, Any]) -> None:
        super().__init__(known)
        self.transactions = transactions

    def get(self, name: str, default: Any = None) -> Any:
        if name not in self and name in records.TRANSACTION_FIELDS:
            self[name] = list(map(attrgetter(name), self.transactions))
        return super().get(name, default)


def policy_info(policy: ActivePolicy) -> PolicyResponse:
    return PolicyResponse(
        version=policy.version,
        policy=dict(policy.document),
        list_sizes={name: len(values) for name, values in policy.lists.items()},
    )


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
                evasion_band_top=scorer.band_top(name),
            )
            for name in scorer.feature_sets
            for spec in [scorer.model(name)]
        ],  # fmt: skip
        threshold_policy=metadata.threshold_policy,
    )
