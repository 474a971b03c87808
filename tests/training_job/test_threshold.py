"""The threshold policy and the natural-rate corrections, on synthetic scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fraud_model.forest import sigmoid
from training_job.threshold import ThresholdPolicy, choose_threshold, logit_offset, natural_rate_weights

PI = 0.0013


def test_natural_rate_weights_bring_an_enriched_source_to_the_natural_rate() -> None:
    labels = np.array([1] * 50 + [0] * 950)  # 5 % fraud
    weights = natural_rate_weights(labels, np.zeros(1000, dtype=np.int16), PI)
    assert weights[labels == 1].sum() / weights.sum() == pytest.approx(PI)


def test_natural_rate_weights_leave_a_source_at_or_below_the_natural_rate_alone() -> None:
    labels = np.array([1] * 1 + [0] * 9999)  # 0.01 %: already rarer than PI
    source = np.zeros(10_000, dtype=np.int16)
    assert np.all(natural_rate_weights(labels, source, PI) == 1.0)


def test_natural_rate_weights_weigh_each_source_by_its_own_fraud_rate() -> None:
    labels = np.array([1] * 10 + [0] * 90 + [1] * 1 + [0] * 99)
    source = np.repeat(np.array([0, 1], dtype=np.int16), 100)
    weights = natural_rate_weights(labels, source, 0.01)
    assert weights[10] == pytest.approx(10 * 0.99 / (90 * 0.01))
    assert weights[150] == 1.0


def test_logit_offset_maps_the_training_prior_to_the_natural_rate() -> None:
    positives, negatives, spw = 200, 10_000, 7.0
    training_prior_margin = math.log(positives * spw / negatives)  # what a featureless model would learn
    assert sigmoid(np.array([training_prior_margin + logit_offset(PI, positives, negatives, spw)]))[0] == (
        pytest.approx(PI)
    )


def _scores() -> tuple[np.ndarray, np.ndarray]:
    # 10 frauds high, 2 frauds buried among legit rows; legit rows spread below.
    labels = np.array([1] * 10 + [0, 1, 0, 0, 1] + [0] * 85)
    scores = np.r_[np.linspace(0.99, 0.90, 10), [0.8, 0.7, 0.6, 0.5, 0.4], np.linspace(0.3, 0.0, 85)]
    return labels, scores


def test_choose_threshold_takes_the_highest_recall_that_meets_the_precision_target() -> None:
    labels, scores = _scores()
    policy = ThresholdPolicy(target_precision=0.9, recall_tolerance_se=0.0)
    choice = choose_threshold(labels, scores, np.ones(labels.size), policy)
    # Flagging down to 0.7 gives 11 frauds and 1 legit (precision 0.917); going lower breaks the target.
    assert (choice.recall, choice.precision, choice.target_met) == (
        pytest.approx(11 / 12),
        pytest.approx(11 / 12),
        True,
    )
    assert 0.6 < choice.threshold <= 0.7


def test_choose_threshold_keeps_validation_decisions_when_placed_between_scores() -> None:
    labels, scores = _scores()
    choice = choose_threshold(
        labels, scores, np.ones(labels.size), ThresholdPolicy(target_precision=0.9, recall_tolerance_se=0.0)
    )
    flagged = scores >= choice.threshold
    assert flagged.sum() == 12 and choice.threshold < 0.7


def test_choose_threshold_gives_up_recall_within_one_standard_error() -> None:
    labels, scores = _scores()
    strict = choose_threshold(
        labels, scores, np.ones(labels.size), ThresholdPolicy(target_precision=0.9, recall_tolerance_se=0.0)
    )
    lenient = choose_threshold(labels, scores, np.ones(labels.size), ThresholdPolicy(target_precision=0.9))
    assert lenient.threshold > strict.threshold and lenient.recall == pytest.approx(10 / 12)


def test_choose_threshold_uses_weights_for_precision() -> None:
    labels, scores = _scores()
    weights = np.where(labels == 1, 1.0, 20.0)  # one legit row now counts as twenty
    choice = choose_threshold(
        labels, scores, weights, ThresholdPolicy(target_precision=0.9, recall_tolerance_se=0)
    )
    assert choice.recall == pytest.approx(10 / 12)


def test_choose_threshold_falls_back_to_max_f1_when_the_target_is_unreachable() -> None:
    labels, scores = np.array([0, 1, 1, 0, 1]), np.array([0.9, 0.8, 0.7, 0.6, 0.5])  # best precision: 2/3
    choice = choose_threshold(labels, scores, np.ones(5), ThresholdPolicy(target_precision=0.9))
    assert (choice.target_met, choice.threshold, choice.recall) == (False, 0.5, 1.0)  # F1 0.75 at 0.5


def test_fixed_policy_reports_the_figures_at_the_given_threshold() -> None:
    labels, scores = _scores()
    choice = choose_threshold(
        labels, scores, np.ones(labels.size), ThresholdPolicy("fixed", fixed_threshold=0.35)
    )
    assert (choice.threshold, choice.precision, choice.recall) == (0.35, pytest.approx(12 / 15), 1.0)
