"""The evasion stress test: the holdout's frauds changed the way their author controls them, scored against
the legitimate holdout by the published model (through the API's Scorer).

Families (each keeps the bookkeeping consistent: the origin loses exactly the amount, the destination gains
what it gained before, scaled to the new amount):

- `remainder_R`: leave R of the origin balance behind (R = 1%, 5%, 20%) instead of draining it;
- `split_K`: move the same money in K transfers (K = 2, 3), each one of them scored;
- `round_down`: an amount rounded down to a round figure (the next power of ten below a tenth of it), which
  leaves the rest in the account.

Reported per family and feature set: recall at the shipped threshold, recall at 0.1% and 1% false positive
rate (among legitimate holdout rows), and ROC AUC of the changed frauds against the legitimate rows. The
`none` row is the unchanged frauds, for comparison. A version with an evasion band is measured on its
served score, and its shipped models alone under `shipped` (the band's effect).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from fraud_model.features import FEATURE_SETS
from fraud_model.metrics import roc_auc
from fraud_model.scorer import Scorer
from training_job.dataset import Dataset
from training_job.evaluate import present_mask

Columns = dict[str, np.ndarray]
_HEADER = "| change | frauds | recall at threshold | R@0.1%FPR | R@1%FPR | ROC AUC |"
FPRS = {"recall_at_fpr_0_1pct": 0.001, "recall_at_fpr_1pct": 0.01}


def with_amount(frauds: Columns, amount: np.ndarray) -> Columns:
    """The same transactions moving `amount` instead, bookkeeping kept consistent on both sides."""
    out = dict(frauds)
    scale = np.divide(amount, frauds["amount"], out=np.zeros_like(amount), where=frauds["amount"] > 0)
    out["amount"] = amount
    out["newbalanceOrig"] = np.maximum(frauds["oldbalanceOrg"] - amount, 0.0)
    if "newbalanceDest" in frauds and "oldbalanceDest" in frauds:
        gained = frauds["newbalanceDest"] - frauds["oldbalanceDest"]
        out["newbalanceDest"] = frauds["oldbalanceDest"] + gained * scale
    return out


def remainder(share: float | np.ndarray) -> Callable[[Columns], Columns]:
    """Leave `share` of the balance behind (one share, or one per transaction)."""

    def leave(frauds: Columns) -> Columns:
        old = frauds["oldbalanceOrg"]
        amount = np.where(old > 0, np.minimum(frauds["amount"], old * (1.0 - share)), frauds["amount"])
        return with_amount(frauds, amount)

    return leave


def split(parts: int) -> Callable[[Columns], Columns]:
    def spread(frauds: Columns) -> Columns:
        size = frauds["amount"].size
        pieces = [piece(frauds, np.full(size, parts), np.full(size, index)) for index in range(parts)]
        return {name: np.concatenate([p[name] for p in pieces]) for name in frauds}

    return spread


def piece(frauds: Columns, parts: np.ndarray, index: np.ndarray) -> Columns:
    """Transfer number `index` (from 0) of `parts` that move each fraud's money in equal pieces: the sender's
    balance already lowered by the earlier pieces, the destination's raised by them."""
    out = with_amount(frauds, frauds["amount"] / parts)
    moved = frauds["amount"] * index / parts  # what the earlier pieces took
    out["oldbalanceOrg"] = np.maximum(frauds["oldbalanceOrg"] - moved, 0.0)
    out["newbalanceOrig"] = np.maximum(out["oldbalanceOrg"] - out["amount"], 0.0)
    if "oldbalanceDest" in frauds and "newbalanceDest" in frauds:
        gained = (frauds["newbalanceDest"] - frauds["oldbalanceDest"]) / parts
        out["oldbalanceDest"] = frauds["oldbalanceDest"] + gained * index
        out["newbalanceDest"] = out["oldbalanceDest"] + gained
    return out


def round_down(frauds: Columns) -> Columns:
    amount = frauds["amount"]
    unit = 10.0 ** np.floor(np.log10(np.maximum(amount, 10.0)) - 1)
    return with_amount(frauds, np.floor(amount / unit) * unit)


FAMILIES: dict[str, Callable[[Columns], Columns]] = {
    "none": dict,
    "remainder_1pct": remainder(0.01),
    "remainder_5pct": remainder(0.05),
    "remainder_20pct": remainder(0.20),
    "split_2": split(2),
    "split_3": split(3),
    "round_down": round_down,
}


def stress_test(scorer: Scorer, holdout: Dataset) -> dict[str, Any]:
    """{feature set: {family: metrics}} for each published feature set, on the rows it can score."""
    labels = holdout.labels.astype(bool)
    result: dict[str, Any] = {}
    for name in scorer.feature_sets:
        inputs = FEATURE_SETS[name].inputs
        present = present_mask(holdout, inputs)
        frauds = {column: holdout.columns[column][present & labels] for column in inputs}
        legit = {column: holdout.columns[column][present & ~labels] for column in inputs}
        if not len(next(iter(frauds.values()))) or not len(next(iter(legit.values()))):
            continue
        threshold = scorer.model(name).threshold
        views = (True, False) if scorer.has_band(name) else (True,)
        legit_scores = {band: scorer.probabilities(name, legit, band=band) for band in views}
        result[name] = {}
        for family, change in FAMILIES.items():
            changed = change(frauds)
            figures = {band: _measure(scorer.probabilities(name, changed, band=band), legit_scores[band],
                                      threshold) for band in views}  # fmt: skip
            result[name][family] = figures[True] | ({"shipped": figures[False]} if False in figures else {})
    return result


def _measure(fraud_scores: np.ndarray, legit_scores: np.ndarray, threshold: float) -> dict[str, float]:
    labels = np.r_[np.ones(fraud_scores.size, dtype=bool), np.zeros(legit_scores.size, dtype=bool)]
    report = {
        "frauds": float(fraud_scores.size),
        "recall": float(np.mean(fraud_scores >= threshold)),
        "roc_auc": roc_auc(labels, np.r_[fraud_scores, legit_scores]),
    }
    for key, fpr in FPRS.items():
        # The lowest score that keeps false positives among the legitimate rows at or under `fpr`.
        cut = np.quantile(legit_scores, 1.0 - fpr, method="higher")
        report[key] = float(np.mean(fraud_scores > cut))
    return report


def render(result: Mapping[str, Any]) -> str:
    """A Markdown table per feature set (with an evasion band: the shipped model alone beside it)."""
    lines = []
    for name, families in result.items():
        band = all("shipped" in m for m in families.values())
        extra = " shipped alone: R@1%FPR | ROC AUC |" if band else ""
        lines += [f"**{name}**" + (" (served with its evasion band)" if band else ""), "", _HEADER + extra,
                  "|---|---|---|---|---|---|" + "---|---|" * band]  # fmt: skip
        for family, m in families.items():
            cells = [m["recall"], m["recall_at_fpr_0_1pct"], m["recall_at_fpr_1pct"], m["roc_auc"]]
            if band:
                cells += [m["shipped"]["recall_at_fpr_1pct"], m["shipped"]["roc_auc"]]
            lines.append(f"| {family} | {m['frauds']:.0f} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)
