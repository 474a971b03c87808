"""One record batch of `fraud score`: its output columns (the key columns, the model's verdicts, the policy's
outcome and matched rules, the reasons) and its decision-record chunk, vectorised."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from fraud_model import records
from fraud_model.features import FEATURE_SETS
from fraud_model.schema import TIME, TRANSACTION_TYPES, TYPE
from fraud_model.scorer import Scorer
from training_job.dataset import Dataset
from training_job.evaluate import decision_variables, route

if TYPE_CHECKING:
    from training_job.score import Summary

_TYPE_NAMES = np.array([*TRANSACTION_TYPES, None], dtype=object)  # code -1: absent


def score_batch(
    scorer: Scorer,
    policy: Any,
    lists: dict[str, frozenset[str]],
    columns: dict[str, np.ndarray],
    names: dict[str, pa.Array],
    ids: Any,
    id_column: str | None,
    summary: Summary,
    explain: bool,
    record: bool,
) -> tuple[pa.Table, records.Chunk | None]:
    rows = len(next(iter(columns.values())))
    dataset = Dataset(columns, np.zeros(rows, dtype=np.int16))
    routed = route(scorer, dataset, each=False)
    verdicts = routed.verdicts()
    if policy.verdict_only is None:
        wanted = policy.variables | {"is_fraud"}
        decided = policy.decide_columns(decision_variables(dataset, slice(0, rows), verdicts, wanted), lists)
    else:  # the default policy: its columns straight from the model's verdicts (see _decisions)
        decided = None
    types = _TYPE_NAMES[columns[TYPE]] if TYPE in columns else np.full(rows, None, dtype=object)
    absent = np.full(rows, None, dtype=object)
    out: dict[str, Any] = {} if ids is None or id_column is None else {id_column: ids.cast(pa.string())}
    step = columns.get(TIME)
    steps = pa.nulls(rows, pa.int64()) if step is None else pa.array(step, from_pandas=True).cast(pa.int64())
    out.update({
        TIME: steps,
        TYPE: pa.array(types, pa.string()),
        "amount": pa.array(columns["amount"]),
        "nameOrig": names.get("nameOrig", pa.nulls(rows, pa.string())),
        "nameDest": names.get("nameDest", pa.nulls(rows, pa.string())),
        "fraud_probability": pa.array(verdicts.fraud_probability),
        "is_fraud": pa.array(verdicts.is_fraud),
        "threshold": pa.array(verdicts.threshold),
        "feature_set": pa.array(verdicts.feature_set, pa.string()),
        "model_version": pa.repeat(pa.scalar(scorer.version), rows),
        **_decisions(policy, verdicts.is_fraud, decided),
        "policy_version": pa.repeat(pa.scalar(summary.policy_version), rows),
    })  # fmt: skip
    if explain:
        out["reasons"] = _reasons(scorer, routed, columns)
    summary.scored += rows
    summary.flagged += int(verdicts.is_fraud.sum())
    for entry in out["outcome"].value_counts().to_pylist():
        summary.outcomes[entry["values"]] = summary.outcomes.get(entry["values"], 0) + entry["counts"]
    chunk = None
    if record:  # (a record costs more than a row)
        fields: dict[str, Any] = {name: columns.get(name, absent) for name in records.TRANSACTION_FIELDS}
        fields.update({name: values.to_pylist() for name, values in names.items()})
        fields[TYPE] = types
        chunk = records.Chunk(f"score-{summary.run}", "score", records.now(), scorer.version,
                              summary.policy_version, fields, verdicts.fraud_probability, verdicts.threshold,
                              verdicts.is_fraud, verdicts.feature_set, out["outcome"].to_pylist(),
                              out["matched_rules"].to_pylist(), first_item=summary.scored - rows)  # fmt: skip
    return pa.table(out), chunk


def _decisions(policy: Any, is_fraud: np.ndarray, decided: Any) -> dict[str, pa.Array]:
    """The outcome and matched rules columns; the default policy's without a Python object a row."""
    verdict = policy.verdict_only
    if decided is not None:  # a policy of rules: decided row by row
        return {"outcome": pa.array(decided.outcome, pa.string()),
                "matched_rules": pa.array(decided.matched, pa.list_(pa.string()))}  # fmt: skip
    rule, fraud, otherwise = verdict
    outcome = pa.DictionaryArray.from_arrays(pa.array(is_fraud.astype(np.int8)), pa.array([otherwise, fraud]))
    offsets = np.concatenate([[0], np.cumsum(is_fraud, dtype=np.int32)])
    matched = pa.ListArray.from_arrays(pa.array(offsets), pa.repeat(pa.scalar(rule), int(is_fraud.sum())))
    return {"outcome": outcome.cast(pa.string()), "matched_rules": matched}


def as_text(values: pa.Array) -> pa.Array:
    return values if pa.types.is_string(values.type) else values.cast(pa.string())


REPEATING = [TYPE, "feature_set", "model_version", "outcome", "policy_version"]
_REASON = pa.struct([("feature", pa.string()), ("value", pa.float64()), ("contribution", pa.float64())])


def _reasons(scorer: Scorer, routed: Any, columns: dict[str, np.ndarray], top: int = 3) -> pa.Array:
    """Each row's top features by TreeSHAP contribution, from the model that scored it (as ?explain=true)."""
    reasons: list[Any] = [None] * len(routed.feature_set)
    for code, name in enumerate(routed.names):
        rows = np.flatnonzero(routed.feature_set == code)
        if rows.size == 0:
            continue
        inputs = {column: columns[column][rows] for column in FEATURE_SETS[name].inputs}
        for row, contributions in zip(rows.tolist(), scorer.explain_many(name, inputs, top=top), strict=True):
            reasons[row] = [{"feature": c.feature, "value": c.value if np.isfinite(c.value) else None,
                             "contribution": c.contribution} for c in contributions]  # fmt: skip
    return pa.array(reasons, pa.list_(_REASON))
