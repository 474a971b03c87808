"""The scorer: one verified model version turned into fraud probabilities and decisions.

Training's evaluation, `fraud evaluate`, `fraud predict` and the API all score through this class. A version
with an evasion band serves max(p_shipped, p_evasion × top / (top + p_evasion)) per feature set, top = c ×
threshold: the evasion model's probability (near its own value where it is small) squeezed under the top, so
it can lift a score into the band under the threshold, never over it, and every decision at the threshold is
the shipped model's; explanations are the shipped model's too.
`score_one` and `score_lists` are the API's fast paths: the same routing, features and forests as
`score_records`, without its per-record dictionaries and objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fraud_model.artifact import EvasionModel, FeatureSetModel, LoadedVersion, Metadata
from fraud_model.errors import ArtifactError
from fraud_model.features import FEATURE_SETS, FeatureSet
from fraud_model.forest import Forest, sigmoid
from fraud_model.rows import TYPE_CODES_OR_ABSENT, OneRow, probe_columns, records_to_columns
from fraud_model.schema import TYPE

__all__ = [
    "BatchScores",
    "Contribution",
    "Score",
    "Scorer",
    "load_booster",
    "native_margin",
    "records_to_columns",
]


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
class BatchScores:
    """Many transactions' verdicts, as columns (row i of each belongs to transaction i)."""

    fraud_probability: np.ndarray  # float64
    is_fraud: np.ndarray  # bool
    threshold: np.ndarray  # float64
    feature_set: list[str]
    # score_lists' arrays: the money fields (NaN = absent), `type` codes, and each row's feature set as its
    # index in FEATURE_SETS (what the decision policy reads, without converting them again)
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    routed: np.ndarray | None = None

    @property
    def confidence(self) -> np.ndarray:
        """Probability of each returned decision."""
        return np.where(self.is_fraud, self.fraud_probability, 1.0 - self.fraud_probability)


@dataclass(frozen=True)
class Contribution:
    """One feature's share of a score, in log-odds (TreeSHAP from the native booster)."""

    feature: str
    value: float
    contribution: float


@dataclass(frozen=True)
class _Band:
    """A feature set's evasion model and the top of its band (c × the shipped threshold: never reached)."""

    spec: EvasionModel
    forest: Forest
    native: bytes
    top: float


@dataclass
class _Model:
    spec: FeatureSetModel
    feature_set: FeatureSet
    forest: Forest
    native: bytes
    band: _Band | None = None
    _booster: Any = field(default=None, repr=False)

    def probabilities(self, features: np.ndarray, *, band: bool = True) -> np.ndarray:
        """Served probabilities of a feature matrix (`band=False`: the shipped model's alone)."""
        p = sigmoid(self.forest.margin(features) + self.spec.logit_offset)
        if band and self.band is not None:
            evasion = sigmoid(self.band.forest.margin(features) + self.band.spec.logit_offset)
            top = self.band.top
            p = np.maximum(p, evasion * top / (top + evasion))  # ~ the evasion model's own, always under top
        return p

    def booster(self) -> Any:
        """The native booster, loaded on first use (explanations only: it is slower to call); ArtifactError
        when its file does not load (`verify_native` checks that before a version is promoted)."""
        if self._booster is None:
            try:
                self._booster = load_booster(self.spec.library, self.native)
            except Exception as exc:  # xgboost.core.XGBoostError, lightgbm.basic.LightGBMError, decoding
                raise ArtifactError(
                    f"{self.spec.native_file} does not load as a {self.spec.library} model: {exc}"
                ) from exc
        return self._booster


def native_margin(library: str, booster: Any, features: np.ndarray, *, threads: int = 1) -> np.ndarray:
    """Raw margins (log-odds) from a native booster itself: what its forest export is checked against."""
    if library == "xgboost":
        import xgboost

        return np.asarray(booster.predict(xgboost.DMatrix(features, nthread=threads), output_margin=True))
    return np.asarray(booster.predict(features, raw_score=True, num_threads=threads))


def load_booster(library: str, native: bytes) -> Any:
    """A native booster from its file's bytes (XGBoost UBJSON or LightGBM text)."""
    if not native:  # XGBoost's loader aborts the whole process on an empty buffer (measured: 3.2.0)
        raise ValueError("the file is empty")
    if library == "xgboost":
        import xgboost

        booster = xgboost.Booster(params={"nthread": 1})
        booster.load_model(bytearray(native))
        return booster
    import lightgbm

    return lightgbm.Booster(model_str=native.decode())


class Scorer:
    """Scores transactions with a verified model version (see `fraud_model.artifact.load_version`)."""

    def __init__(self, loaded: LoadedVersion) -> None:
        """Every model of the version, parsed and probed; ArtifactError, never another exception, when any
        file (metadata, forest) does not make a model that scores."""
        self.metadata: Metadata = loaded.metadata
        self.version = loaded.metadata.version
        try:
            self._load(loaded)
        except ArtifactError:
            raise
        except Exception as exc:  # a file that verified by sha256 but does not make a model
            raise ArtifactError(f"model version {self.version} does not load: {type(exc).__name__}") from exc

    def _load(self, loaded: LoadedVersion) -> None:
        self._models: dict[str, _Model] = {}
        for name, spec in loaded.metadata.models.items():
            feature_set = FEATURE_SETS.get(name)
            if feature_set is None or list(feature_set.features) != spec.features:
                raise ArtifactError(
                    f"model version {self.version}: feature set {name!r} differs from this code's"
                )
            forest = Forest.from_bytes(loaded.files[spec.forest_file])
            if forest.n_features != len(spec.features):
                raise ArtifactError(
                    f"model version {self.version}: {spec.forest_file} has the wrong feature count"
                )
            band = self._band(spec, loaded)
            self._models[name] = _Model(spec, feature_set, forest, loaded.files[spec.native_file], band)
        if not self._models:
            raise ArtifactError(f"model version {self.version} has no models")
        self._routes: dict[frozenset[str], str] = {}  # route() by the set of fields present
        self._one_row = {name: OneRow(model.feature_set) for name, model in self._models.items()}
        for name, model in self._models.items():  # one probe row each: a model that loads also scores
            probe = {field: 0 if field == "step" else "TRANSFER" if field == TYPE else 1.0
                     for field in model.feature_set.inputs}  # fmt: skip
            probability = self.probabilities(name, records_to_columns([probe], model.feature_set.inputs))
            if probability.shape != (1,) or not np.isfinite(probability).all():
                raise ArtifactError(f"model version {self.version}: {name} does not score a probe row")

    def _band(self, spec: FeatureSetModel, loaded: LoadedVersion) -> _Band | None:
        """The evasion model of `spec`, when the version serves a band and holds one."""
        factor = loaded.metadata.evasion_band
        if spec.evasion is None or factor <= 0:
            return None
        forest = Forest.from_bytes(loaded.files[spec.evasion.forest_file])
        if forest.n_features != len(spec.features):
            raise ArtifactError(
                f"model version {self.version}: {spec.evasion.forest_file} has the wrong feature count"
            )
        return _Band(spec.evasion, forest, loaded.files[spec.evasion.native_file], factor * spec.threshold)

    def verify_native(self, rows: int = 2048) -> None:
        """Load every native booster and check it agrees with its forest export on `rows` probe rows
        (ArtifactError when one does not load or disagrees): `promote` calls this, so the version that
        becomes current explains with the trees it scores with."""
        for model in self._models.values():
            features = model.feature_set.compute(probe_columns(rows, model.feature_set.inputs))
            pairs: list[tuple[Any, Forest, Any]] = [(model.spec, model.forest, model.booster())]
            if model.band is not None:
                evasion = model.band.spec
                try:
                    pairs.append(
                        (evasion, model.band.forest, load_booster(evasion.library, model.band.native))
                    )
                except Exception as exc:  # as in _Model.booster
                    raise ArtifactError(
                        f"{evasion.native_file} does not load as a {evasion.library} model: {exc}"
                    ) from exc
            for spec, forest, booster in pairs:
                margin = native_margin(spec.library, booster, features)
                try:
                    forest.verify(features, margin, tolerance=1e-4)
                except ArtifactError as exc:
                    raise ArtifactError(
                        f"model version {self.version}: {spec.native_file} and {spec.forest_file} "
                        f"disagree ({exc})"
                    ) from exc

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

    def _route_cached(self, present: frozenset[str]) -> str:
        name = self._routes.get(present)
        if name is None:
            name = self._routes[present] = self.route(present)
        return name

    def score_one(self, record: Mapping[str, Any]) -> Score:
        """One record's score (None = absent): the same as `score_records([record])[0]`, in fewer µs."""
        name = self._route_cached(frozenset(key for key, value in record.items() if value is not None))
        model = self._models[name]
        probability = float(model.probabilities(self._one_row[name].features(record))[0])
        threshold = model.spec.threshold
        return Score(probability, is_fraud=probability >= threshold, threshold=threshold, feature_set=name)

    def score_lists(self, fields: Mapping[str, Sequence[Any]]) -> BatchScores:
        """Scores for columns given as sequences (one per transaction field, None = absent), in row order.

        Each row goes to the richest model its fields allow, exactly as `score_records` routes it.
        """
        rows = len(next(iter(fields.values()))) if fields else 0
        if any(len(values) != rows for values in fields.values()):
            raise ValueError("every field needs one value per transaction (None = absent)")
        arrays: dict[str, np.ndarray] = {}
        present: dict[str, np.ndarray | None] = {}  # None: present in every row
        for name, values in fields.items():
            if name == TYPE:
                codes = np.array([TYPE_CODES_OR_ABSENT[v] for v in values], dtype=np.int8)
                arrays[name], present[name] = codes, (codes >= 0) if (codes < 0).any() else None
            else:
                arrays[name] = np.array(values, dtype=np.float64)  # None -> NaN
                # NaN marks None, or a NaN given as a value (present): only then look at each value.
                gaps = np.isnan(arrays[name]).any()
                present[name] = np.array([v is not None for v in values], dtype=bool) if gaps else None
        probability = np.zeros(rows, dtype=np.float64)
        threshold = np.zeros(rows, dtype=np.float64)
        chosen = np.full(rows, -1, dtype=np.int64)
        names = [name for name in FEATURE_SETS if name in self._models]  # route()'s order of preference
        for index, name in enumerate(names):
            model = self._models[name]
            inputs = model.feature_set.inputs
            if not set(inputs) <= arrays.keys():
                continue
            mask = chosen == -1
            for column in inputs:
                if present[column] is not None:
                    mask &= present[column]
            if not mask.any():
                continue
            every = bool(mask.all())
            columns = {column: arrays[column] if every else arrays[column][mask] for column in inputs}
            probability[mask] = self.probabilities(name, columns)
            threshold[mask] = model.spec.threshold
            chosen[mask] = index
        if np.any(chosen == -1):
            missing = int(np.flatnonzero(chosen == -1)[0])
            self.route({name for name, values in fields.items() if values[missing] is not None})  # KeyError
        return BatchScores(
            fraud_probability=probability,
            is_fraud=probability >= threshold,
            threshold=threshold,
            feature_set=[names[i] for i in chosen.tolist()],
            inputs=arrays,
            routed=np.array([list(FEATURE_SETS).index(name) for name in names], dtype=np.int8)[chosen],
        )

    def probabilities(
        self, feature_set: str, columns: Mapping[str, np.ndarray], *, band: bool = True
    ) -> np.ndarray:
        """Natural-rate fraud probabilities for columnar input, with the given feature set's model: the
        served score (with the evasion band, if the version has one), or with `band=False` the shipped
        model's alone."""
        model = self._models[feature_set]
        return model.probabilities(model.feature_set.compute(columns), band=band)

    def has_band(self, feature_set: str) -> bool:
        """Whether `feature_set`'s served score includes an evasion band."""
        return self._models[feature_set].band is not None

    def band_top(self, feature_set: str) -> float | None:
        """The highest score `feature_set`'s evasion model can lift a transaction to (None: no band)."""
        band = self._models[feature_set].band
        return None if band is None else band.top

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
                scores[i] = Score(
                    fraud_probability=p, is_fraud=p >= threshold, threshold=threshold, feature_set=name
                )
        return [s for s in scores if s is not None]

    def explain(self, record: Mapping[str, Any], *, top: int = 5) -> list[Contribution]:
        """The `top` features that moved this transaction's score most (TreeSHAP, log-odds)."""
        present = {key for key, value in record.items() if value is not None}
        name = self.route(present)
        inputs = self._models[name].feature_set.inputs
        return self.explain_many(name, records_to_columns([record], inputs), top=top)[0]

    def explain_many(
        self, feature_set: str, columns: Mapping[str, np.ndarray], *, top: int = 5
    ) -> list[list[Contribution]]:
        """Each row's `top` features by absolute TreeSHAP contribution, with `feature_set`'s model."""
        model = self._models[feature_set]
        features = model.feature_set.compute(columns)
        booster = model.booster()
        # XGBoost refuses infinite inputs (a ratio over a zero balance); the largest float32 takes the same
        # branches at every split, so the reasons are those of the score. NaN stays NaN: missing.
        largest = float(np.finfo(np.float32).max)
        finite = np.nan_to_num(features, nan=np.nan, posinf=largest, neginf=-largest)
        if model.spec.library == "xgboost":
            import xgboost

            contributions = booster.predict(xgboost.DMatrix(finite), pred_contribs=True)[:, :-1]
        else:
            contributions = booster.predict(finite, pred_contrib=True, num_threads=1)[:, :-1]
        order = np.argsort(-np.abs(contributions), axis=1)[:, :top]
        names = model.spec.features
        return [
            [Contribution(names[j], float(features[i, j]), float(contributions[i, j])) for j in row]
            for i, row in enumerate(order.tolist())
        ]
