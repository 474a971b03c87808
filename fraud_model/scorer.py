"""The scorer: one verified model version turned into fraud probabilities and decisions.

Training's evaluation, `fraud evaluate`, `fraud predict` and the API all score through this class.
`score_one` and `score_lists` are the API's fast paths: the same routing, features and forests as
`score_records`, without its per-record dictionaries and objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fraud_model.artifact import FeatureSetModel, LoadedVersion, Metadata
from fraud_model.errors import ArtifactError
from fraud_model.features import FEATURE_FUNCTIONS, FEATURE_SETS, FeatureSet
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


@dataclass
class _Model:
    spec: FeatureSetModel
    feature_set: FeatureSet
    forest: Forest
    native: bytes
    _booster: Any = field(default=None, repr=False)

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


def _probe_columns(rows: int, inputs: Sequence[str], seed: int = 20261204) -> dict[str, np.ndarray]:
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


_TYPE_CODES_OR_ABSENT: dict[str | None, int] = {None: -1}
_TYPE_CODES_OR_ABSENT.update(TYPE_CODES)


class _OneRow:
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
            self._models[name] = _Model(spec, feature_set, forest, loaded.files[spec.native_file])
        if not self._models:
            raise ArtifactError(f"model version {self.version} has no models")
        self._routes: dict[frozenset[str], str] = {}  # route() by the set of fields present
        self._one_row = {name: _OneRow(model.feature_set) for name, model in self._models.items()}
        for name, model in self._models.items():  # one probe row each: a model that loads also scores
            probe = {field: 0 if field == "step" else "TRANSFER" if field == TYPE else 1.0
                     for field in model.feature_set.inputs}  # fmt: skip
            probability = self.probabilities(name, records_to_columns([probe], model.feature_set.inputs))
            if probability.shape != (1,) or not np.isfinite(probability).all():
                raise ArtifactError(f"model version {self.version}: {name} does not score a probe row")

    def verify_native(self, rows: int = 2048) -> None:
        """Load every native booster and check it agrees with its forest export on `rows` probe rows
        (ArtifactError when one does not load or disagrees): `promote` calls this, so the version that
        becomes current explains with the trees it scores with."""
        for model in self._models.values():
            features = model.feature_set.compute(_probe_columns(rows, model.feature_set.inputs))
            margin = native_margin(model.spec.library, model.booster(), features)
            try:
                model.forest.verify(features, margin, tolerance=1e-4)
            except ArtifactError as exc:
                raise ArtifactError(
                    f"model version {self.version}: {model.spec.native_file} and {model.spec.forest_file} "
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
        features = self._one_row[name].features(record)
        probability = float(sigmoid(model.forest.margin(features)[0] + model.spec.logit_offset))
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
                codes = np.array([_TYPE_CODES_OR_ABSENT[v] for v in values], dtype=np.int8)
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

    def probabilities(self, feature_set: str, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """Natural-rate fraud probabilities for columnar input, with the given feature set's model."""
        model = self._models[feature_set]
        features = model.feature_set.compute(columns)
        return sigmoid(model.forest.margin(features) + model.spec.logit_offset)

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
