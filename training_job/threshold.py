"""The decision threshold and the prior correction, both for live traffic's natural fraud rate.

Precision depends on the fraud rate, so validation negatives of a fraud-enriched source are reweighted until
its fraud rate equals the natural rate before any precision is computed. See docs/training.md for the math.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from fraud_model.metrics import confusion, precision_recall_curve

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ThresholdPolicy:
    """How the threshold is chosen: `max_recall_at_precision` (default), `max_f1`, or `fixed`."""

    name: str = "max_recall_at_precision"
    target_precision: float = 0.95
    fixed_threshold: float | None = None
    natural_fraud_rate: float = 0.0013
    recall_tolerance_se: float = 1.0  # recall (in standard errors) given up for a higher, safer threshold


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    precision: float  # at the natural rate, on validation
    recall: float
    target_met: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def natural_rate_weights(labels: np.ndarray, source: np.ndarray, natural_rate: float) -> np.ndarray:
    """Per-row weights: negatives of source s weigh w_s = max(1, P_s (1 - pi) / (N_s pi)); positives 1.

    With those weights every source's fraud rate is at most pi; sources already at or below it keep weight 1.
    """
    weights = np.ones(labels.size, dtype=np.float64)
    y = labels.astype(bool)
    for index in np.unique(source):
        rows = source == index
        positives = float(y[rows].sum())
        negatives = float(rows.sum() - positives)
        if positives and negatives:
            w = max(1.0, positives * (1 - natural_rate) / (negatives * natural_rate))
            weights[rows & ~y] = w
    return weights


def logit_offset(natural_rate: float, positives: float, negatives: float, scale_pos_weight: float) -> float:
    """Prior correction added to the margin: logit(pi) - log(P * spw / N).

    The booster learned log-odds under a training prior of odds P*spw/N; swapping that prior for the
    natural rate's odds pi/(1-pi) is Bayes' rule in log-odds space.
    """
    return math.log(natural_rate / (1 - natural_rate)) - math.log(positives * scale_pos_weight / negatives)


def choose_threshold(
    labels: np.ndarray, probabilities: np.ndarray, weights: np.ndarray, policy: ThresholdPolicy
) -> ThresholdChoice:
    """The threshold the policy picks on validation scores (weighted to the natural rate)."""
    if policy.name == "fixed":
        if policy.fixed_threshold is None:
            raise ValueError("the fixed threshold policy needs fixed_threshold")
        return _at(policy.fixed_threshold, labels, probabilities, weights)
    if policy.name not in ("max_recall_at_precision", "max_f1"):
        raise ValueError(f"unknown threshold policy {policy.name!r}")
    if not np.any(labels):
        raise ValueError("choosing a threshold needs validation rows with at least one fraud")
    precision, recall, thresholds = precision_recall_curve(labels, probabilities, weights)
    meets = precision >= policy.target_precision
    if policy.name == "max_recall_at_precision" and meets.any():
        # One-standard-error rule: validation recall is a noisy estimate, so take the highest threshold whose
        # recall is within `recall_tolerance_se` standard errors of the best (fewer borderline alerts).
        best = float(np.max(recall[meets]))
        floor = best - policy.recall_tolerance_se * _recall_se(best, int(np.sum(labels)))
        k = int(np.flatnonzero(meets & (recall >= floor - 1e-12))[0])
    else:
        if policy.name == "max_recall_at_precision":
            log.warning(
                "no threshold reaches precision %.3f on validation: max F1 instead", policy.target_precision
            )
        f1 = 2 * precision * recall / np.maximum(precision + recall, np.finfo(np.float64).tiny)
        k = int(np.argmax(f1))
    met = policy.name == "max_f1" or bool(meets[k])
    return ThresholdChoice(_midpoint(thresholds, k), float(precision[k]), float(recall[k]), met)


def _recall_se(recall: float, positives: int) -> float:
    """Standard error of a recall measured on `positives` frauds (Agresti-Coull: sane at recall 1)."""
    hits = recall * positives
    smoothed = (hits + 2) / (positives + 4)
    return math.sqrt(smoothed * (1 - smoothed) / (positives + 4))


def _midpoint(thresholds: np.ndarray, k: int) -> float:
    """Halfway in log-odds between the chosen score and the next lower one: the same validation decisions,
    with equal margin on both sides for scores validation has not seen."""
    if k + 1 >= thresholds.size:
        return float(thresholds[k])
    upper, lower = np.clip(thresholds[[k, k + 1]], 1e-300, 1 - 1e-16)
    logit = (math.log(upper / (1 - upper)) + math.log(lower / (1 - lower))) / 2
    middle = 1 / (1 + math.exp(-logit))
    return float(middle) if lower < middle <= upper else float(upper)


def _at(
    threshold: float, labels: np.ndarray, probabilities: np.ndarray, weights: np.ndarray
) -> ThresholdChoice:
    at = confusion(labels, probabilities >= threshold, weights)
    return ThresholdChoice(float(threshold), at.precision, at.recall, True)
