"""Splits by time: each source by its own step quantiles, whole steps never shared between splits."""

from __future__ import annotations

import numpy as np
import pytest

from fraud_model.errors import InputError
from training_job.split import (
    HOLDOUT,
    TRAIN,
    VALIDATION,
    assign_splits,
    counted_cuts,
    describe,
    describe_counts,
    step_cuts,
)


def test_step_cuts_follow_the_row_quantiles_of_step() -> None:
    steps = np.repeat(np.arange(1, 11), 10)  # 10 steps of 10 rows
    cuts = step_cuts(steps, 0.7, 0.15)
    assert (cuts.train_until, cuts.validation_until) == (7, 9)


def test_step_cuts_refuse_data_with_fewer_than_three_steps() -> None:
    with pytest.raises(InputError, match="needs at least 3"):
        step_cuts(np.array([1, 1, 2, 2]), 0.7, 0.15, name="tiny.csv")


def test_assign_splits_cuts_each_source_by_its_own_steps() -> None:
    steps = np.r_[np.repeat(np.arange(1, 744), 2), np.repeat(np.arange(1, 31), 50)]  # 743 hours vs 30 hours
    source = np.r_[np.zeros(743 * 2, np.int16), np.ones(30 * 50, np.int16)]
    split, _ = assign_splits(steps, source, 0.7, 0.15, ["long", "short"])
    for index in (0, 1):
        shares = np.bincount(split[source == index], minlength=3) / (source == index).sum()
        assert shares == pytest.approx([0.7, 0.15, 0.15], abs=0.04)


def test_assign_splits_puts_later_steps_after_earlier_ones() -> None:
    rng = np.random.default_rng(0)
    steps = rng.integers(1, 100, 5000)
    split, _ = assign_splits(steps, np.zeros(5000, np.int16), 0.7, 0.15, ["data"])
    assert steps[split == TRAIN].max() < steps[split == VALIDATION].min()
    assert steps[split == VALIDATION].max() < steps[split == HOLDOUT].min()


def test_counted_cuts_and_table_from_step_counts_equal_those_from_the_rows() -> None:
    """What a Dask worker sends (rows and frauds a step) gives the cuts and report table of the rows."""
    rng = np.random.default_rng(1)
    steps = rng.integers(1, 60, 4000)
    labels = (rng.random(4000) < 0.05).astype(np.int8)
    codes, cuts = assign_splits(steps, np.zeros(4000, np.int16), 0.7, 0.15, ["data"])
    unique, index, counts = np.unique(steps, return_inverse=True, return_counts=True)
    frauds = np.bincount(index, weights=labels)
    assert counted_cuts(unique, counts, 0.7, 0.15) == cuts[0]
    table = describe(codes, np.zeros(4000, np.int16), labels, steps, ["data"], cuts)
    assert [describe_counts("data", cuts[0], unique, counts, frauds)] == table
