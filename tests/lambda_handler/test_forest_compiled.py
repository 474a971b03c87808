"""The compiled walker (fraud_model._forest) scores exactly like the numpy walk and the native boosters."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest

from fraud_model import compiled
from fraud_model.forest import Forest, sigmoid
from tests.factory import train_native

pytestmark = pytest.mark.skipif(
    not compiled.AVAILABLE,
    reason="fraud_model._forest is not built (pip install -e . or see docs/serving.md)",
)
Library = Literal["xgboost", "lightgbm"]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    features = rng.normal(size=(3000, 7)).astype(np.float32)
    labels = features[:, 0] * features[:, 1] + np.sin(features[:, 2]) + rng.normal(size=3000) > 0.5
    return features, labels.astype(np.float32)


@pytest.fixture(scope="module")
def models(data: tuple[np.ndarray, np.ndarray]) -> dict[str, tuple[bytes, Forest, np.ndarray]]:
    features, labels = data
    return {
        library: train_native(library, features, labels, rounds=60) for library in ("xgboost", "lightgbm")
    }


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forest_compiled_equals_the_numpy_walk(
    library: Library, dtype: type, data: tuple[np.ndarray, np.ndarray], models: dict[str, tuple]
) -> None:
    forest = models[library][1]
    x = data[0].astype(dtype)
    np.testing.assert_array_equal(forest.margin(x, engine="native"), forest.margin(x, engine="numpy"))


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_forest_compiled_matches_the_native_booster_to_1e_5(
    library: Library, data: tuple[np.ndarray, np.ndarray], models: dict[str, tuple]
) -> None:
    _, forest, native_margin = models[library]
    difference = np.abs(sigmoid(forest.margin(data[0], engine="native")) - sigmoid(native_margin))
    assert difference.max() <= 1e-5


def test_forest_compiled_follows_default_directions_for_missing_values(
    data: tuple[np.ndarray, np.ndarray], models: dict[str, tuple]
) -> None:
    forest = models["xgboost"][1]
    holes = data[0].copy()
    holes[np.random.default_rng(6).random(holes.shape) < 0.2] = np.nan
    for x in (holes, holes.astype(np.float64)):
        np.testing.assert_array_equal(forest.margin(x, engine="native"), forest.margin(x, engine="numpy"))


def test_forest_compiled_one_row_equals_the_same_row_in_a_batch(
    data: tuple[np.ndarray, np.ndarray], models: dict[str, tuple]
) -> None:
    forest, x = models["xgboost"][1], data[0][:100]
    one_by_one = np.array([forest.margin(x[i : i + 1])[0] for i in range(len(x))])
    np.testing.assert_array_equal(one_by_one, forest.margin(x))


def test_forest_compiled_threads_change_nothing(
    data: tuple[np.ndarray, np.ndarray], models: dict[str, tuple], monkeypatch: pytest.MonkeyPatch
) -> None:
    forest = models["xgboost"][1]
    monkeypatch.setattr(compiled, "max_threads", 1)
    alone = forest.margin(data[0])
    monkeypatch.setattr(compiled, "max_threads", 4)
    np.testing.assert_array_equal(forest.margin(data[0]), alone)


def test_forest_compiled_refuses_indexes_out_of_bounds() -> None:
    module = compiled.native_module()
    nodes = np.zeros(3, dtype=[("split", "<f8"), ("feature", "<i4"), ("first", "<i4")])
    nodes["first"] = [1, 5, 0]  # node 1 points past the end
    with pytest.raises(ValueError, match="out of range"):
        module.Trees(nodes, np.zeros(3), np.zeros(3, dtype=np.uint8), np.ones(1, dtype=np.int32), 1)


def test_forest_compiled_refuses_a_feature_out_of_range() -> None:
    module = compiled.native_module()
    nodes = np.zeros(1, dtype=[("split", "<f4"), ("feature", "<i4")])
    nodes["feature"] = 9
    with pytest.raises(ValueError, match="out of range"):
        module.CompleteTrees(nodes, np.zeros(1, dtype=np.uint8), np.zeros(2), np.zeros(1, dtype=np.int64),
                             np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.int32), 3)  # fmt: skip
