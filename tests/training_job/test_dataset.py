"""Generated demo data goes through the same validation as files and is reproducible."""

from __future__ import annotations

import numpy as np

from training_job.dataset import generated_dataset


def test_generated_dataset_is_seeded() -> None:
    first, _ = generated_dataset(5_000, fraud_rate=0.01, seed=4)
    second, _ = generated_dataset(5_000, fraud_rate=0.01, seed=4)
    np.testing.assert_array_equal(first.columns["amount"], second.columns["amount"])


def test_generated_dataset_has_typed_columns_and_no_quarantine() -> None:
    dataset, quarantine = generated_dataset(5_000, fraud_rate=0.01, seed=4)
    assert (dataset.columns["type"].dtype, dataset.labels.dtype, quarantine.bad) == (np.int8, np.int8, 0)


def test_dataset_chunks_cover_every_row_once() -> None:
    dataset, _ = generated_dataset(5_000, fraud_rate=0.01, seed=4)
    assert sum(columns["amount"].size for _, columns in dataset.chunks(1_234)) == len(dataset)
