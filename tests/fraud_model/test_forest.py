"""The numpy forest export scores exactly like the native boosters it was made from."""

from __future__ import annotations

import numpy as np
import pytest

from fraud_model.errors import ArtifactError
from fraud_model.forest import Forest, sigmoid
from tests.factory import train_native


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    features = rng.normal(size=(4000, 6)).astype(np.float32)
    labels = (features[:, 0] + features[:, 1] * features[:, 2] + rng.normal(size=4000) > 1).astype(np.float32)
    return features, labels


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_forest_matches_native_booster_to_1e_5(library: str, data: tuple[np.ndarray, np.ndarray]) -> None:
    features, labels = data
    _, forest, margin = train_native(library, features, labels, rounds=60)  # type: ignore[arg-type]
    assert np.max(np.abs(sigmoid(forest.margin(features)) - sigmoid(margin))) <= 1e-5


def test_forest_missing_values_follow_the_learned_default(data: tuple[np.ndarray, np.ndarray]) -> None:
    features, labels = data
    holes = features.copy()
    holes[::3, 0] = np.nan
    native, forest, _ = train_native("xgboost", holes, labels, rounds=30)
    import xgboost

    # fresh rows with gaps in every column, not only where training saw them
    fresh = np.random.default_rng(2).normal(size=(500, 6)).astype(np.float32)
    fresh[np.random.default_rng(3).random(fresh.shape) < 0.2] = np.nan
    booster = xgboost.Booster()
    booster.load_model(bytearray(native))
    expected = booster.predict(xgboost.DMatrix(fresh), output_margin=True)
    assert forest.verify(fresh, expected) <= 1e-5


def test_forest_bytes_round_trip(data: tuple[np.ndarray, np.ndarray]) -> None:
    features, labels = data
    _, forest, _ = train_native("lightgbm", features, labels, rounds=20)
    again = Forest.from_bytes(forest.to_bytes())
    np.testing.assert_array_equal(again.margin(features), forest.margin(features))


def test_forest_from_bytes_refuses_garbage() -> None:
    with pytest.raises(ArtifactError, match="unreadable forest"):
        Forest.from_bytes(b"not an npz file")


def test_forest_verify_refuses_a_different_model(data: tuple[np.ndarray, np.ndarray]) -> None:
    features, labels = data
    _, forest, margin = train_native("xgboost", features, labels, rounds=20)
    with pytest.raises(ArtifactError, match="differs from the native booster"):
        forest.verify(features, margin + 1.0)


def test_forest_margin_refuses_wrong_feature_count(data: tuple[np.ndarray, np.ndarray]) -> None:
    features, labels = data
    _, forest, _ = train_native("xgboost", features, labels, rounds=5)
    with pytest.raises(ValueError, match="expected a"):
        forest.margin(features[:, :3])
