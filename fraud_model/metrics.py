"""Binary-classification metrics in plain numpy (no scikit-learn): curves, areas and threshold figures.

Every function takes optional per-row weights, so the same code gives figures at the data's own fraud
rate and at the natural rate (negatives reweighted, see training_job.threshold).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Curve:
    """Cumulative counts at every distinct score, highest first (a row is flagged when score >= threshold)."""

    thresholds: np.ndarray
    tp: np.ndarray  # (weighted) true positives when flagging at each threshold
    fp: np.ndarray
    positives: float
    negatives: float


def curve(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None) -> Curve:
    """Sort once; ties share one point, so tied scores never earn partial credit in either order."""
    y = np.asarray(labels).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    w = np.ones(s.shape, dtype=np.float64) if weights is None else np.asarray(weights, dtype=np.float64)
    if not y.shape == s.shape == w.shape:
        raise ValueError(f"labels {y.shape}, scores {s.shape} and weights {w.shape} differ in shape")
    order = np.argsort(-s, kind="mergesort")
    s, y, w = s[order], y[order], w[order]
    tp = np.cumsum(np.where(y, w, 0.0))
    fp = np.cumsum(np.where(y, 0.0, w))
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1] if s.size else np.empty(0, dtype=np.int64)
    return Curve(
        s[last], tp[last], fp[last], float(tp[-1]) if s.size else 0.0, float(fp[-1]) if s.size else 0.0
    )


def roc_auc(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Area under the ROC curve (trapezoids: ties count one half); NaN without both classes."""
    c = curve(labels, scores, weights)
    if c.positives <= 0 or c.negatives <= 0:
        return math.nan
    tpr = np.r_[0.0, c.tp / c.positives]
    fpr = np.r_[0.0, c.fp / c.negatives]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def pr_auc(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None) -> float:
    """PR AUC as average precision: sum over thresholds of recall step x precision; NaN without positives."""
    c = curve(labels, scores, weights)
    if c.positives <= 0:
        return math.nan
    precision = c.tp / np.maximum(c.tp + c.fp, np.finfo(np.float64).tiny)
    recall = c.tp / c.positives
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def precision_recall_curve(
    labels: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, thresholds), thresholds descending."""
    c = curve(labels, scores, weights)
    precision = c.tp / np.maximum(c.tp + c.fp, np.finfo(np.float64).tiny)
    recall = c.tp / c.positives if c.positives > 0 else np.zeros_like(c.tp)
    return precision, recall, c.thresholds


def roc_curve(
    labels: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate, thresholds), starting at (0, 0)."""
    c = curve(labels, scores, weights)
    fpr = np.r_[0.0, c.fp / c.negatives] if c.negatives > 0 else np.zeros(c.fp.size + 1)
    tpr = np.r_[0.0, c.tp / c.positives] if c.positives > 0 else np.zeros(c.tp.size + 1)
    return fpr, tpr, np.r_[np.inf, c.thresholds]


def recall_at_fpr(
    labels: np.ndarray, scores: np.ndarray, max_fpr: float, weights: np.ndarray | None = None
) -> float:
    """Best recall among thresholds whose false positive rate is at most `max_fpr`."""
    fpr, tpr, _ = roc_curve(labels, scores, weights)
    if not np.any(np.asarray(labels).astype(bool)):
        return math.nan
    return float(np.max(tpr[fpr <= max_fpr]))


@dataclass(frozen=True)
class Confusion:
    """(Weighted) counts at one threshold, with the rates derived from them."""

    tp: float
    fp: float
    tn: float
    fn: float

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def specificity(self) -> float:
        return _ratio(self.tn, self.tn + self.fp)

    @property
    def f1(self) -> float:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)


def confusion(labels: np.ndarray, decisions: np.ndarray, weights: np.ndarray | None = None) -> Confusion:
    y = np.asarray(labels).astype(bool)
    d = np.asarray(decisions).astype(bool)
    w = np.ones(y.shape, dtype=np.float64) if weights is None else np.asarray(weights, dtype=np.float64)
    return Confusion(
        tp=float(w[y & d].sum()),
        fp=float(w[~y & d].sum()),
        tn=float(w[~y & ~d].sum()),
        fn=float(w[y & ~d].sum()),
    )


def binary_report(
    labels: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    weights: np.ndarray | None = None,
    decisions: np.ndarray | None = None,
) -> dict[str, Any]:
    """Every headline figure at once: areas, the confusion at `threshold`, recall at 0.1 % and 1 % FPR.

    With per-row `decisions` (rows routed to models with different thresholds) the confusion-based figures
    come from those decisions instead of one threshold.
    """
    y = np.asarray(labels).astype(bool)
    at = confusion(y, np.asarray(scores) >= threshold if decisions is None else decisions, weights)
    return {
        "rows": int(y.size),
        "frauds": int(y.sum()),
        "roc_auc": roc_auc(y, scores, weights),
        "pr_auc": pr_auc(y, scores, weights),
        "threshold": float(threshold),
        "precision": at.precision,
        "recall": at.recall,
        "specificity": at.specificity,
        "f1": at.f1,
        "tp": at.tp,
        "fp": at.fp,
        "tn": at.tn,
        "fn": at.fn,
        "recall_at_fpr_0_1pct": recall_at_fpr(y, scores, 0.001, weights),
        "recall_at_fpr_1pct": recall_at_fpr(y, scores, 0.01, weights),
    }


def json_safe(value: Any) -> Any:
    """NaN and infinities become None (strict JSON), recursively; numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan
