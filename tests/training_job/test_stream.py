"""The streamed split holds the same rows as the in-memory one: training rows in batches, validation and
holdout whole, outliers and evasive copies as before, quarantine counts unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.training_job.conftest import small_settings
from tests.training_job.test_validate import HEADER, ROWS
from training_job import augment, prepare
from training_job.config import BAND_COPY_ROUNDS
from training_job.dataset import Dataset, load_dataset
from training_job.errors import TrainingError
from training_job.preprocess import keep_rows
from training_job.split import HOLDOUT, TRAIN, VALIDATION, assign_splits
from training_job.stream import TrainStream

BATCH = 1_000  # far smaller than the 40,000-row file: dozens of batches


@pytest.fixture(scope="module")
def in_memory(paysim_csv: Path) -> tuple[Dataset, np.ndarray]:
    dataset, _ = load_dataset([str(paysim_csv)])
    split, _ = assign_splits(dataset.columns["step"], dataset.source, 0.7, 0.15, [str(paysim_csv)])
    return dataset, split


def _streamed(
    paysim_csv: Path, tmp_path: Path, **overrides: object
) -> tuple[prepare.Splits, dict[str, object]]:
    settings = small_settings(data=[str(paysim_csv)], batch_rows=BATCH, **overrides)
    context: dict[str, object] = {}
    return prepare.split(prepare.load(settings, tmp_path), settings, context, tmp_path), context


def _joined(stream: TrainStream) -> dict[str, np.ndarray]:
    batches = [stream.batch(i) for i in range(stream.batches)]
    return {name: np.concatenate([batch[name] for batch in batches]) for name in batches[0]}


def test_stream_holds_the_training_rows_in_order_in_batches_of_the_asked_size(
    paysim_csv: Path, tmp_path: Path, in_memory: tuple[Dataset, np.ndarray]
) -> None:
    dataset, split = in_memory
    splits, _ = _streamed(paysim_csv, tmp_path, evasion_band=0.0)
    expected = dataset.take(split == TRAIN)
    sizes = [splits.train.batch(i)["amount"].size for i in range(splits.train.batches)]
    assert splits.train.batches > 20 and set(sizes[:-1]) == {BATCH} and 0 < sizes[-1] <= BATCH
    got = _joined(splits.train)
    for name, values in expected.columns.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name)
    np.testing.assert_array_equal(splits.train.labels, expected.labels)
    assert splits.train.weights is None


def test_stream_keeps_validation_and_holdout_whole_and_identical(
    paysim_csv: Path, tmp_path: Path, in_memory: tuple[Dataset, np.ndarray]
) -> None:
    dataset, split = in_memory
    splits, _ = _streamed(paysim_csv, tmp_path)
    for got, code in ((splits.validation, VALIDATION), (splits.holdout, HOLDOUT)):
        expected = dataset.take(split == code)
        assert list(got.columns) == list(expected.columns)
        for name, values in expected.columns.items():
            assert got.columns[name].dtype == values.dtype
            np.testing.assert_array_equal(got.columns[name], values, err_msg=name)
        np.testing.assert_array_equal(got.source, expected.source)


def test_stream_drops_the_same_outliers_as_the_in_memory_policy(
    paysim_csv: Path, tmp_path: Path, in_memory: tuple[Dataset, np.ndarray]
) -> None:
    dataset, split = in_memory
    splits, context = _streamed(paysim_csv, tmp_path, outlier_policy="iqr")
    train = dataset.take(split == TRAIN)
    expected = train.take(keep_rows("iqr", train.columns["amount"]))
    assert 0 < len(splits.train.plain()) < len(train)
    np.testing.assert_array_equal(_joined(splits.train.plain())["amount"], expected.columns["amount"])
    assert context["outliers"]["policy"] == "iqr"  # type: ignore[index]


def test_stream_appends_the_same_evasive_copies_with_their_weight(
    paysim_csv: Path, tmp_path: Path, in_memory: tuple[Dataset, np.ndarray]
) -> None:
    dataset, split = in_memory
    splits, _ = _streamed(paysim_csv, tmp_path, evasive_copies=2, evasive_weight=0.3)
    expected = augment.evasive_copies(dataset.take(split == TRAIN), 2, seed=42, weight=0.3)
    got = _joined(splits.train)
    for name in ("amount", "newbalanceOrig", "newbalanceDest", "isFraud"):
        np.testing.assert_array_equal(got[name], expected.columns[name], err_msg=name)
    assert splits.train.weights is not None
    np.testing.assert_array_equal(splits.train.weights, expected.columns[augment.WEIGHT])


def test_stream_with_the_band_appends_its_rounds_of_copies_and_reads_as_before_without_them(
    paysim_csv: Path, tmp_path: Path, in_memory: tuple[Dataset, np.ndarray]
) -> None:
    dataset, split = in_memory
    (tmp_path / "band").mkdir(), (tmp_path / "before").mkdir()
    banded, _ = _streamed(paysim_csv, tmp_path / "band")
    before, _ = _streamed(paysim_csv, tmp_path / "before", evasion_band=0.0)
    expected = augment.evasive_copies(dataset.take(split == TRAIN), BAND_COPY_ROUNDS, seed=42)
    np.testing.assert_array_equal(_joined(banded.train)["amount"], expected.columns["amount"])
    plain = banded.train.plain()
    assert plain.batches == before.train.batches and plain.weights is None
    for index in range(plain.batches):
        for name, values in before.train.batch(index).items():
            np.testing.assert_array_equal(plain.batch(index)[name], values, err_msg=name)
    np.testing.assert_array_equal(plain.labels, before.train.labels)


def test_stream_counts_the_same_quarantined_rows_as_the_in_memory_load(tmp_path: Path) -> None:
    messy_csv = tmp_path / "messy.csv"
    messy_csv.write_text("\n".join([HEADER, *ROWS]) + "\n")
    _, expected = load_dataset([str(messy_csv)])
    loaded = prepare.load(small_settings(data=[str(messy_csv)], batch_rows=7), tmp_path)
    assert loaded.quarantine.bad > 0
    assert loaded.quarantine.summary() == expected.summary()
    assert loaded.quarantine.records == expected.records


def test_stream_split_describes_the_same_sizes(
    paysim_csv: Path, tmp_path: Path, in_memory: tuple[Dataset, np.ndarray]
) -> None:
    dataset, split = in_memory
    splits, context = _streamed(paysim_csv, tmp_path)
    described = context["splits"][0]  # type: ignore[index]
    assert described["train"]["rows"] == len(splits.train.plain()) == int((split == TRAIN).sum())
    assert described["holdout"]["frauds"] == int(splits.holdout.labels.sum())
    assert not (tmp_path / "valid.arrow").exists()  # pass 1's spill is gone once split


def test_stream_without_room_for_its_local_files_fails_with_one_readable_error(
    paysim_csv: Path, tmp_path: Path
) -> None:
    with pytest.raises(TrainingError, match="cannot write the streamed training rows under .*set TMPDIR"):
        prepare.load(small_settings(data=[str(paysim_csv)]), tmp_path / "gone")
