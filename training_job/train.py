"""Train XGBoost (`xgb.train`, hist) and LightGBM (train_lightgbm.py) with early stopping on validation.

Each trained model is cut to its best iteration, saved in its native format (UBJSON / LightGBM text, never
pickle) and exported to a fraud_model.forest.Forest that is calibrated and verified against the booster.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import xgboost as xgb
from tqdm import tqdm

from fraud_model.forest import Forest, from_xgboost_json
from fraud_model.scorer import native_margin
from training_job.errors import TrainingError

log = logging.getLogger(__name__)

_CALIBRATION_ROWS = 4096
METRICS = {"logloss": ("logloss", "binary_logloss"), "pr_auc": ("aucpr", "average_precision")}  # xgb, lgb
_VERIFY_CHUNK = 20_000  # Forest.margin holds rows x trees node indexes: keep chunks small


class TrainData(Protocol):
    """A training split as both libraries take it: labels and weights in memory, features built by the
    library's own constructor (from one array here, or from a stream of batches: feed.Streamed)."""

    @property
    def y(self) -> np.ndarray: ...

    @property
    def weight(self) -> np.ndarray | None: ...

    def xgboost_matrix(self, nthread: int) -> xgb.QuantileDMatrix: ...

    def lightgbm_data(self) -> Any: ...

    def feature_batches(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        """Features, labels and weights batch by batch (what a Dask cluster receives: train_cluster.py)."""
        ...


@dataclass(frozen=True)
class Matrix:
    """Features (float32), labels and optional row weights of one split, in memory."""

    x: np.ndarray
    y: np.ndarray
    weight: np.ndarray | None = None

    def xgboost_matrix(self, nthread: int) -> xgb.QuantileDMatrix:
        return xgb.QuantileDMatrix(self.x, label=self.y, weight=self.weight, nthread=nthread)

    def lightgbm_data(self) -> Any:
        return self.x

    def feature_batches(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        yield self.x, self.y, self.weight


def early_stopping_set(x: np.ndarray, labels: np.ndarray, scale_pos_weight: float) -> Matrix:
    """The validation matrix early stopping watches: the training objective itself, positives weighted as in
    training (thresholds and champions are judged at the natural rate elsewhere)."""
    return Matrix(x, labels, np.where(labels == 1, scale_pos_weight, 1.0))


@dataclass(frozen=True)
class BoostParams:
    max_rounds: int = 400
    early_stopping_rounds: int = 30
    learning_rate: float = 0.1
    max_depth: int = 6
    scale_pos_weight: float = 1.0
    threads: int = 0  # 0: every core
    seed: int = 42
    stopping_metric: str = "logloss"  # logloss | pr_auc, on the (natural-rate weighted) validation split
    monotone: tuple[int, ...] = ()  # per feature (fraud_model.features.MONOTONE); empty: none

    @property
    def nthread(self) -> int:
        return self.threads or os.cpu_count() or 1


@dataclass
class Trained:
    """One booster cut to its best iteration, with its native bytes and verified-ready forest export."""

    library: str
    features: list[str]
    native: bytes
    forest: Forest
    trees: int  # boosting rounds kept (best iteration + 1)
    rounds: int  # boosting rounds run before early stopping
    importance: dict[str, float]  # total gain per feature
    params: dict[str, Any]
    booster: Any = field(repr=False)
    nthread: int = 1

    def native_margin(self, x: np.ndarray) -> np.ndarray:
        """Raw margins (log-odds) from the native booster itself."""
        return native_margin(self.library, self.booster, x, threads=self.nthread)


def train(
    library: str,
    features: list[str],
    train_set: TrainData,
    valid_set: Matrix,
    params: BoostParams,
    *,
    label: str = "",
    progress: bool = False,
    cluster: Any = None,
) -> Trained:
    """Train one library's booster (XGBoost on the Dask cluster whose `distributed.Client` is `cluster`, if
    given); TrainingError when a split has no fraud to learn or stop on."""
    if cluster is not None and library != "xgboost":
        raise ValueError(f"only xgboost trains on a Dask cluster, not {library!r}")
    for name, matrix in (("train", train_set), ("validation", valid_set)):
        if not np.any(matrix.y) or np.all(matrix.y):
            raise TrainingError(
                f"the {name} split needs both frauds and legitimate rows ({matrix.y.size} rows)"
            )
    with tqdm(
        total=params.max_rounds,
        desc=f"{label} {library}".strip(),
        unit="round",
        disable=not progress,
        mininterval=1.0,
    ) as bar:
        if library == "xgboost" and cluster is not None:
            from training_job.train_cluster import train_xgboost

            trained = train_xgboost(cluster, features, train_set, valid_set, params)
            bar.update(trained.rounds)
        elif library == "xgboost":
            trained = _train_xgboost(features, train_set, valid_set, params, bar)
        elif library == "lightgbm":
            from training_job.train_lightgbm import train_lightgbm

            trained = train_lightgbm(features, train_set, valid_set, params, bar)
        else:
            raise ValueError(f"unknown library {library!r}")
        bar.total = bar.n  # early stopping ends the bar short of max_rounds: show it as done
        bar.set_postfix_str(f"kept {trained.trees} trees", refresh=True)
    sample = valid_set.x[:: max(1, valid_set.x.shape[0] // _CALIBRATION_ROWS)]
    trained.forest = trained.forest.calibrated(sample, trained.native_margin(sample))
    log.info("%s %s: %d trees (of %d rounds)", label, library, trained.trees, trained.rounds)
    return trained


def verify(trained: Trained, x: np.ndarray) -> float:
    """Largest probability difference between the forest export and the booster on `x` (in bounded chunks)."""
    worst = 0.0
    for start in range(0, x.shape[0], _VERIFY_CHUNK):
        chunk = x[start : start + _VERIFY_CHUNK]
        worst = max(worst, trained.forest.verify(chunk, trained.native_margin(chunk)))
    return worst


def _train_xgboost(
    features: list[str], train_set: TrainData, valid_set: Matrix, params: BoostParams, bar: tqdm
) -> Trained:
    dtrain = train_set.xgboost_matrix(params.nthread)
    dvalid = xgb.QuantileDMatrix(
        valid_set.x, label=valid_set.y, weight=valid_set.weight, ref=dtrain, nthread=params.nthread
    )
    booster_params = xgboost_params(params)
    booster = xgb.train(
        booster_params,
        dtrain,
        num_boost_round=params.max_rounds,
        evals=[(dvalid, "validation")],
        early_stopping_rounds=params.early_stopping_rounds,
        verbose_eval=False,
        callbacks=[_XgbProgress(bar)],
    )
    return xgboost_trained(booster, features, booster_params, params.nthread)


def xgboost_params(params: BoostParams) -> dict[str, Any]:
    """The booster parameters of an XGBoost run (in-process, or on a Dask cluster: train_cluster.py)."""
    booster_params: dict[str, Any] = {
        "objective": "binary:logistic",
        "tree_method": "hist",
        "eval_metric": METRICS[params.stopping_metric][0],
        "eta": params.learning_rate,
        "max_depth": params.max_depth,
        "scale_pos_weight": params.scale_pos_weight,
        "nthread": params.nthread,
        "seed": params.seed,
        "verbosity": 0,
    }
    if any(params.monotone):
        booster_params["monotone_constraints"] = "(" + ",".join(map(str, params.monotone)) + ")"
    return booster_params


def xgboost_trained(
    booster: xgb.Booster, features: list[str], booster_params: dict[str, Any], nthread: int
) -> Trained:
    """A trained XGBoost booster cut to its best iteration, with its native bytes and forest export."""
    rounds = booster.num_boosted_rounds()
    best = booster.best_iteration if hasattr(booster, "best_iteration") else rounds - 1
    booster = booster[: best + 1]  # the export and the native file hold exactly the best iteration's trees
    forest = from_xgboost_json(json.loads(bytes(booster.save_raw("json"))), len(features))
    gain = booster.get_score(importance_type="total_gain")
    importance = {name: float(np.sum(gain.get(f"f{j}", 0.0))) for j, name in enumerate(features)}
    return Trained(
        "xgboost",
        features,
        bytes(booster.save_raw("ubj")),
        forest,
        best + 1,
        rounds,
        importance,
        booster_params,
        booster,
        nthread,
    )


class _XgbProgress(xgb.callback.TrainingCallback):
    """Advances a tqdm bar once per boosting round."""

    def __init__(self, bar: tqdm) -> None:
        super().__init__()
        self.bar = bar

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self.bar.update(1)
        return False
