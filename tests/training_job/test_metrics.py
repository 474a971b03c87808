"""fraud_model.metrics against values worked out by hand and against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraud_model.metrics import binary_report, json_safe, pr_auc, recall_at_fpr, roc_auc


def test_pr_auc_matches_hand_computed_average_precision() -> None:
    # Ranked: 1 (P 1, R .5), 0 (P .5, R .5), 1 (P 2/3, R 1), 0: AP = .5 * 1 + .5 * 2/3.
    assert pr_auc(np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.1])) == pytest.approx(5 / 6)


def test_pr_auc_treats_tied_scores_as_one_threshold() -> None:
    # Both rows flagged together: precision 1/2 at recall 1, whichever order a sort leaves them in.
    assert pr_auc(np.array([1, 0]), np.array([0.5, 0.5])) == pytest.approx(0.5)
    assert pr_auc(np.array([0, 1]), np.array([0.5, 0.5])) == pytest.approx(0.5)


def test_pr_auc_weighted_negative_counts_like_duplicated_rows() -> None:
    labels, scores = np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.1])
    duplicated = pr_auc(np.array([1, 0, 0, 0, 1, 0]), np.array([0.9, 0.8, 0.8, 0.8, 0.7, 0.1]))
    assert pr_auc(labels, scores, np.array([1.0, 3.0, 1.0, 1.0])) == pytest.approx(duplicated)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=2, max_size=30))
def test_roc_auc_equals_the_share_of_correctly_ordered_pairs(rows: list[tuple[bool, int]]) -> None:
    labels = np.array([r[0] for r in rows])
    scores = np.array([r[1] for r in rows], dtype=float)
    positives, negatives = scores[labels], scores[~labels]
    if positives.size == 0 or negatives.size == 0:
        assert math.isnan(roc_auc(labels, scores))
        return
    pairs = (positives[:, None] > negatives[None, :]) + 0.5 * (positives[:, None] == negatives[None, :])
    assert roc_auc(labels, scores) == pytest.approx(pairs.mean())


def test_recall_at_fpr_takes_the_best_recall_within_the_false_positive_budget() -> None:
    labels = np.array([1, 1, 0, 1, 0, 0, 0, 0, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
    assert recall_at_fpr(labels, scores, 0.0) == pytest.approx(2 / 3)
    assert recall_at_fpr(labels, scores, 1 / 7) == pytest.approx(1.0)


def test_binary_report_counts_the_confusion_at_the_threshold() -> None:
    report = binary_report(np.array([1, 1, 0, 0, 0]), np.array([0.9, 0.2, 0.6, 0.1, 0.0]), threshold=0.5)
    assert (report["tp"], report["fp"], report["tn"], report["fn"]) == (1, 1, 2, 1)
    assert report["precision"] == pytest.approx(0.5)
    assert report["recall"] == pytest.approx(0.5)
    assert report["specificity"] == pytest.approx(2 / 3)
    assert report["f1"] == pytest.approx(0.5)


def test_json_safe_turns_nan_into_null() -> None:
    assert json_safe({"a": [math.nan, np.float64(1.5)], "b": math.inf}) == {"a": [None, 1.5], "b": None}
