"""Transactions as the models read them: records to columns, one record's features bit for bit like a
batch's (`OneRow`, the single-row fast path), and the probe rows a loaded model is checked on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fraud_model.features import FEATURE_FUNCTIONS, FeatureSet
from fraud_model.schema import TYPE, TYPE_CODES


def records_to_columns(records: Sequence[Mapping[str, Any]], inputs: Sequence[str]) -> dict[str, np.ndarray]:
    """Columns for `inputs` from validated records (`type` as a name, money as numbers)."""
    columns: dict[str, np.ndarray] = {}
    for name in inputs:
        if name == TYPE:
            codes = (TYPE_CODES[r[name]] for r in records)
            columns[name] = np.fromiter(codes, dtype=np.int8, count=len(records))
        else:
            columns[name] = np.fromiter((r[name] for r in records), dtype=np.float64, count=len(records))
    return columns


def probe_columns(rows: int, inputs: Sequence[str], seed: int = 20261204) -> dict[str, np.ndarray]:
    """Deterministic transactions across the space a model splits: amounts over seven decades, balances
    that are drained exactly, partly, or not at all, every type."""
    rng = np.random.default_rng(seed)
    amount = 10.0 ** rng.uniform(0, 7, rows)
    old = np.choose(rng.integers(0, 3, rows), [amount, amount * rng.uniform(0, 3, rows), np.zeros(rows)])
    new = np.where(rng.random(rows) < 0.5, np.maximum(old - amount, 0.0), old * rng.uniform(0, 1, rows))
    dest_old = np.where(rng.random(rows) < 0.3, 0.0, 10.0 ** rng.uniform(0, 7, rows))
    columns = {
        "amount": amount, "oldbalanceOrg": old, "newbalanceOrig": new, "oldbalanceDest": dest_old,
        "newbalanceDest": dest_old + np.where(rng.random(rows) < 0.5, amount, 0.0),
        TYPE: rng.integers(0, len(TYPE_CODES), rows).astype(np.int8),
    }  # fmt: skip
    return {name: columns[name] for name in inputs}


TYPE_CODES_OR_ABSENT: dict[str | None, int] = {None: -1}
TYPE_CODES_OR_ABSENT.update(TYPE_CODES)


class OneRow:
    """One record's features from the declared feature functions fed numpy scalars (half the cost of
    `FeatureSet.compute` on one-row arrays). Used only where it reproduces `compute` bit for bit on
    probe rows, checked when the model loads; otherwise `features` falls back to `compute`.
    """

    # (amount, oldbalanceOrg, newbalanceOrig, oldbalanceDest, newbalanceDest), with every type
    _PROBES = (
        (0.0, 0.0, 0.0, 0.0, 0.0),
        (181.5, 181.5, 0.0, 0.0, 0.0),
        (9839.64, 170136.0, 160296.36, 1e6, 1e-3),
        (1e12, 0.5, 3.3, 7.0, 2.0),
    )
    _MONEY = ("amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest")

    def __init__(self, feature_set: FeatureSet) -> None:
        self.feature_set = feature_set
        self.functions = [FEATURE_FUNCTIONS[name] for name in feature_set.features]
        self.scalar_ok = all(
            self._agrees({**dict(zip(self._MONEY, probe, strict=True)), TYPE: kind})
            for probe in self._PROBES
            for kind in TYPE_CODES
        )

    def _agrees(self, record: dict[str, Any]) -> bool:
        try:
            with np.errstate(all="ignore"):
                scalar = self._scalar(record)
                reference = self.feature_set.compute(records_to_columns([record], self.feature_set.inputs))
        except (TypeError, ValueError, AttributeError, IndexError):
            return False
        return scalar.shape == reference.shape and scalar.tobytes() == reference.tobytes()

    def _scalar(self, record: Mapping[str, Any]) -> np.ndarray:
        columns: dict[str, Any] = {  # numpy scalars compute like one-row columns
            name: np.int8(TYPE_CODES[record[name]]) if name == TYPE else np.float64(record[name])
            for name in self.feature_set.inputs
        }
        return np.array([[function(columns) for function in self.functions]], dtype=np.float32)

    def features(self, record: Mapping[str, Any]) -> np.ndarray:
        if self.scalar_ok:
            return self._scalar(record)
        return self.feature_set.compute(records_to_columns([record], self.feature_set.inputs))
