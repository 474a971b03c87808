"""The scorer: one verified model version turned into fraud probabilities and decisions.

Training's evaluation, `fraud evaluate`, `fraud predict` and the API all score through this class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fraud_model.artifact import FeatureSetModel, LoadedVersion, Metadata
from fraud_model.errors import ArtifactError
from fraud_model.features import FEATURE_SETS, FeatureSet, select_feature_set
from fraud_model.forest import Forest, sigmoid
from fraud_model.schema import TYPE, TYPE_CODES


@dataclass(frozen=True)
class Score:
    """One transaction's verdict."""

    fraud_probability: float
    is_fraud: bool
    threshold: float
    feature_set: str

    @property
    def confidence(self) -> float:
        """Probability of the returned decision."""
        return self.fraud_probability if self.is_fraud else 1.0 - self.fraud_probability


@dataclass(frozen=True)
class Contribution:
    """One feature's share of a score, in log-odds (TreeSHAP from the native booster)."""

    feature: str
    value: float
    contribution: float


@dataclass
class _Model:
    spec: FeatureSetModel
    feature_set: FeatureSet
    forest: Forest
    native: bytes
    _booster: Any = field(default=None, repr=False)

    def booster(self) -> Any:
        """The native booster, loaded on first use (explanations only: it is slower to call)."""
        if self._booster is None:
            if self.spec.library == "xgboost":
                import xgboost

                self._booster = xgboost.Booster(params={"nthread": 1})
                self._booster.load_model(bytearray(self.native))
            else:
                import lightgbm

                self._booster = lightgbm.Booster(model_str=self.native.decode())
        return self._booster


def records_to_columns(records: Sequence[Mapping[str, Any]], inputs: Sequence[str]) -> dict[str, np.ndarray]:
    """Columns for `inputs` from validated records (`type` as a name, money as numbers)."""
    columns: dict[str, np.ndarray] = {}
    for name in inputs:
        if name == TYPE:
            columns[name] = np.fromiter((TYPE_CODES[r[name]] for r in records), dtype=np.int8, count=len(records))
        else:
            columns[name] = np.fromiter((r[name] for r in records), dtype=np.float64, count=len(records))
    return columns


class Scorer:
    """Scores transactions with a verified model version (see `fraud_model.artifact.load_version`)."""

    def __init__(self, loaded: LoadedVersion) -> None:
        self.metadata: Metadata = loaded.metadata
        self.version = loaded.metadata.version
        self._models: dict[str, _Model] = {}
        for name, spec in loaded.metadata.models.items():
            feature_set = FEATURE_SETS.get(name)
            if feature_set is None or list(feature_set.features) != spec.features:
                raise ArtifactError(f"model version {self.version}: feature set {name!r} differs from this code's")
            forest = Forest.from_bytes(loaded.files[spec.forest_file])
            if forest.n_features != len(spec.features):
                raise ArtifactError(f"model version {self.version}: {spec.forest_file} has the wrong feature count")
            self._models[name] = _Model(spec, feature_set, forest, loaded.files[spec.native_file])
        if not self._models:
            raise ArtifactError(f"model version {self.version} has no models")

    @property
    def feature_sets(self) -> list[str]:
        return list(self._models)

    def model(self, feature_set: str) -> FeatureSetModel:
        return self._models[feature_set].spec

    def route(self, present: set[str] | frozenset[str]) -> str:
        """The richest published feature set computable from the fields present."""
        for name in FEATURE_SETS:
            if name in self._models and present.issuperset(FEATURE_SETS[name].inputs):
                return name
        raise KeyError(f"no published model can score a transaction with only {sorted(present)}")

    def probabilities(self, feature_set: str, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """Natural-rate fraud probabilities for columnar input, with the given feature set's model."""
        model = self._models[feature_set]
        features = model.feature_set.compute(columns)
        return sigmoid(model.forest.margin(features) + model.spec.logit_offset)

    def score_columns(self, feature_set: str, columns: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities, decisions) for columnar input."""
        probabilities = self.probabilities(feature_set, columns)
        return probabilities, probabilities >= self._models[feature_set].spec.threshold

    def score_records(self, records: Sequence[Mapping[str, Any]]) -> list[Score]:
        """Scores in input order; each record goes to the richest model its fields allow (None = absent)."""
        groups: dict[str, list[int]] = {}
        for i, record in enumerate(records):
            present = {key for key, value in record.items() if value is not None}
            groups.setdefault(self.route(present), []).append(i)
        scores: list[Score | None] = [None] * len(records)
        for name, indexes in groups.items():
            model = self._models[name]
            subset = [records[i] for i in indexes]
            probabilities = self.probabilities(name, records_to_columns(subset, model.feature_set.inputs))
            threshold = model.spec.threshold
            for i, p in zip(indexes, probabilities.tolist(), strict=True):
                scores[i] = Score(fraud_probability=p, is_fraud=p >= threshold, threshold=threshold, feature_set=name)
        return [s for s in scores if s is not None]

    def explain(self, record: Mapping[str, Any], *, top: int = 5) -> list[Contribution]:
        """The `top` features that moved this transaction's score most (TreeSHAP, log-odds)."""
        present = {key for key, value in record.items() if value is not None}
        model = self._models[self.route(present)]
        features = model.feature_set.compute(records_to_columns([record], model.feature_set.inputs))
        booster = model.booster()
        if model.spec.library == "xgboost":
            import xgboost

            contributions = booster.predict(xgboost.DMatrix(features), pred_contribs=True)[0][:-1]
        else:
            contributions = booster.predict(features, pred_contrib=True, num_threads=1)[0][:-1]
        order = np.argsort(-np.abs(contributions))[:top]
        return [
            Contribution(feature=model.spec.features[j], value=float(features[0, j]), contribution=float(contributions[j]))
            for j in order
        ]
