"""Both libraries train with early stopping, keep only the best iteration, and export verified forests."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb

from fraud_model.features import FULL
from training_job.dataset import generated_dataset
from training_job.errors import TrainingError
from training_job.split import TRAIN, VALIDATION, assign_splits
from training_job.train import BoostParams, Matrix, Trained, train, verify

PARAMS = BoostParams(
    max_rounds=300, early_stopping_rounds=3, learning_rate=0.5, max_depth=4, scale_pos_weight=3.0, threads=1
)


@pytest.fixture(scope="module")
def matrices() -> tuple[Matrix, Matrix]:
    dataset, _ = generated_dataset(30_000, fraud_rate=0.01, seed=11)
    split, _ = assign_splits(dataset.columns["step"], dataset.source, 0.7, 0.15, ["generated"])
    train_part, valid_part = dataset.take(split == TRAIN), dataset.take(split == VALIDATION)
    return (
        Matrix(FULL.compute(train_part.columns), train_part.labels),
        Matrix(FULL.compute(valid_part.columns), valid_part.labels),
    )


@pytest.fixture(scope="module", params=["xgboost", "lightgbm"])
def trained(request: pytest.FixtureRequest, matrices: tuple[Matrix, Matrix]) -> Trained:
    return train(request.param, list(FULL.features), *matrices, PARAMS)


def test_train_stops_early_on_validation(trained: Trained) -> None:
    assert trained.trees < trained.rounds < PARAMS.max_rounds


def test_native_model_holds_only_the_best_iteration(trained: Trained) -> None:
    if trained.library == "xgboost":
        booster = xgb.Booster(model_file=bytearray(trained.native))
        assert booster.num_boosted_rounds() == trained.trees
    else:
        assert lgb.Booster(model_str=trained.native.decode()).current_iteration() == trained.trees


def test_trees_stay_within_max_depth(trained: Trained) -> None:
    assert trained.forest.depth <= PARAMS.max_depth


def test_forest_export_agrees_with_the_booster(trained: Trained, matrices: tuple[Matrix, Matrix]) -> None:
    assert verify(trained, matrices[1].x) <= 1e-5


def test_importance_covers_every_feature(trained: Trained) -> None:
    assert list(trained.importance) == list(FULL.features) and sum(trained.importance.values()) > 0


def test_train_refuses_a_split_without_fraud(matrices: tuple[Matrix, Matrix]) -> None:
    train_set, valid_set = matrices
    no_fraud = Matrix(valid_set.x, np.zeros_like(valid_set.y))
    with pytest.raises(TrainingError, match="validation split needs both frauds and legitimate rows"):
        train("xgboost", list(FULL.features), train_set, no_fraud, PARAMS)
