"""The boosters' streaming constructors give the model the in-memory arrays give, batch size regardless."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fraud_model.features import FULL, ORIGIN
from tests.training_job.conftest import small_settings
from training_job import pipeline, prepare
from training_job.feed import Streamed
from training_job.train import BoostParams, Matrix, train

PARAMS = BoostParams(max_rounds=30, early_stopping_rounds=5, max_depth=4, scale_pos_weight=3.0, threads=1)


@pytest.fixture(scope="module")
def splits(paysim_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> prepare.Splits:
    scratch = tmp_path_factory.mktemp("scratch")
    settings = small_settings(data=[str(paysim_csv)], batch_rows=997)  # batches far smaller than the data
    return prepare.split(prepare.load(settings, scratch), settings, {}, scratch)


def _in_memory(splits: prepare.Splits) -> Matrix:
    batches = [splits.train.batch(i) for i in range(splits.train.batches)]
    columns = {name: np.concatenate([batch[name] for batch in batches]) for name in batches[0]}
    return Matrix(FULL.compute(columns), splits.train.labels)


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_streamed_training_gives_the_same_trees_as_arrays(library: str, splits: prepare.Splits) -> None:
    valid = Matrix(FULL.compute(splits.validation.columns), splits.validation.labels)
    features = list(FULL.features)
    streamed = train(library, features, Streamed(splits.train, FULL), valid, PARAMS)
    arrays = train(library, features, _in_memory(splits), valid, PARAMS)
    assert streamed.trees == arrays.trees > 1
    assert streamed.native == arrays.native  # the saved model, byte for byte


def test_streamed_rows_answer_lightgbm_single_rows_ranges_and_lists(splits: prepare.Splits) -> None:
    rows = Streamed(splits.train, ORIGIN).lightgbm_data()
    every = _in_memory(splits)
    x = every.x[:, [list(FULL.features).index(name) for name in ORIGIN.features]]
    size = splits.train.batch_rows
    assert len(rows) == x.shape[0] and rows.batch_size == size
    np.testing.assert_array_equal(rows[size + 3], x[size + 3])
    np.testing.assert_array_equal(rows[-1], x[-1])
    np.testing.assert_array_equal(
        rows[size - 5 : 2 * size + 5], x[size - 5 : 2 * size + 5]
    )  # spans 3 batches
    np.testing.assert_array_equal(rows[[2, size, 3 * size + 1]], x[[2, size, 3 * size + 1]])
    with pytest.raises(TypeError, match="contiguous"):
        rows[0:10:2]


def _models(outcome: pipeline.Outcome) -> dict[tuple[str, str], bytes]:
    return {
        (r.feature_set.name, lib): c.trained.native
        for r in outcome.results
        for lib, c in r.candidates.items()
    }


def test_fraud_train_publishes_the_same_model_whatever_the_batch_size(
    paysim_csv: Path, tmp_path: Path
) -> None:
    small, whole = (
        pipeline.run(
            small_settings(data=[str(paysim_csv)], model_store=str(tmp_path / str(rows)), batch_rows=rows)
        )
        for rows in (1_000, 1_000_000)
    )
    assert _models(small) == _models(whole) and len(_models(small)) == 4  # both libraries, both feature sets
    assert small.metadata.models == whole.metadata.models  # thresholds and holdout figures too
