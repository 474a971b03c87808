"""Outlier handling is measured per class, and the default drops no valid row."""

from __future__ import annotations

import numpy as np

from training_job.preprocess import keep_rows, measure_outliers


def _amounts() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    legit = rng.lognormal(8, 0.5, 990)
    fraud = np.full(10, 5e6)  # frauds drain large balances: exactly what an amount filter cuts
    return np.r_[legit, fraud], np.r_[np.zeros(990, np.int8), np.ones(10, np.int8)]


def test_measure_outliers_reports_the_share_of_frauds_a_filter_would_remove() -> None:
    amount, labels = _amounts()
    measured = measure_outliers(amount, labels, np.zeros(1000, np.int16), ["data"])["data"]["iqr_amount"]
    assert measured["frauds_removed_share"] == 1.0
    assert measured["legit_removed_share"] < 0.1


def test_keep_policy_keeps_every_row() -> None:
    amount, _ = _amounts()
    assert keep_rows("keep", amount).all()


def test_iqr_policy_drops_amounts_outside_tukey_fences() -> None:
    amount, labels = _amounts()
    assert not keep_rows("iqr", amount)[labels == 1].any()
