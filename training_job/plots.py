"""PNG plots for the training report (matplotlib, Agg backend, imported only when plots are drawn)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from fraud_model.metrics import confusion, precision_recall_curve, roc_curve
from training_job.results import FeatureSetResult

_MAX_POINTS = 2_000  # a curve of a million distinct scores draws the same with a couple of thousand points


def plots(result: FeatureSetResult) -> dict[str, bytes]:
    """Curves, score distributions, confusion matrix and feature importance of one feature set."""
    import matplotlib

    matplotlib.use("Agg")
    name = result.feature_set.name
    return {
        f"curves_{name}.png": _curves(result),
        f"scores_{name}.png": _scores(result),
        f"confusion_{name}.png": _confusion(result),
        f"importance_{name}.png": _importance(result),
    }


def _curves(result: FeatureSetResult) -> bytes:
    import matplotlib.pyplot as plt

    y = result.holdout_labels
    fig, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(10, 4.2))
    for library, candidate in result.candidates.items():
        p = candidate.holdout_probabilities
        if y is None or p is None:
            continue
        label = f"{library}{' (champion)' if library == result.champion else ''}"
        fpr, tpr, _ = roc_curve(y, p)
        keep = _thin(fpr.size)
        roc_ax.plot(fpr[keep], tpr[keep], label=f"{label}, AUC {candidate.holdout['roc_auc']:.4f}")
        precision, recall, _ = precision_recall_curve(y, p)
        keep = _thin(recall.size)
        pr_ax.step(
            recall[keep],
            precision[keep],
            where="post",
            label=f"{label}, AP {candidate.holdout['pr_auc']:.4f}",
        )
    roc_ax.set(
        xscale="log",
        xlim=(1e-5, 1),
        xlabel="false positive rate (log)",
        ylabel="recall",
        title=f"ROC, holdout ({result.feature_set.name})",
    )
    pr_ax.set(
        xlabel="recall", ylabel="precision", ylim=(0, 1.02), title="precision-recall, holdout (as sampled)"
    )
    for ax in (roc_ax, pr_ax):
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left" if ax is pr_ax else "lower right", fontsize=8)
    return _png(fig)


def _scores(result: FeatureSetResult) -> bytes:
    import matplotlib.pyplot as plt

    best = result.best
    y, p = result.holdout_labels, best.holdout_probabilities
    fig, ax = plt.subplots(figsize=(7, 4))
    if y is not None and p is not None:
        bins = np.logspace(-8, 0, 65).tolist()
        clipped = np.clip(p, 1e-8, 1.0)
        ax.hist(
            clipped[y == 0], bins=bins, alpha=0.6, density=True, label=f"legitimate ({int((y == 0).sum())})"
        )
        ax.hist(clipped[y == 1], bins=bins, alpha=0.6, density=True, label=f"fraud ({int((y == 1).sum())})")
        ax.axvline(best.threshold.threshold, color="k", linestyle="--", label="threshold")
    ax.set(
        xscale="log",
        xlabel="fraud probability (natural-rate calibrated)",
        ylabel="density",
        title=f"score distribution by class, holdout ({result.feature_set.name}, {result.champion})",
    )
    ax.legend(fontsize=8)
    return _png(fig)


def _confusion(result: FeatureSetResult) -> bytes:
    import matplotlib.pyplot as plt

    best = result.best
    y, p = result.holdout_labels, best.holdout_probabilities
    at = confusion(y, p >= best.threshold.threshold) if y is not None and p is not None else None
    cells = np.array([[at.tn, at.fp], [at.fn, at.tp]]) if at else np.zeros((2, 2))
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.imshow(np.log1p(cells), cmap="Blues")
    for (i, j), count in np.ndenumerate(cells):
        ax.text(j, i, f"{int(count):,}", ha="center", va="center", fontsize=12)
    ax.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=["legitimate", "fraud"],
        yticklabels=["legitimate", "fraud"],
        xlabel="predicted",
        ylabel="actual",
        title=f"holdout at threshold {best.threshold.threshold:.3g}",
    )
    return _png(fig)


def _importance(result: FeatureSetResult) -> bytes:
    import matplotlib.pyplot as plt

    gain = result.best.trained.importance
    total = sum(gain.values()) or 1.0
    names = sorted(gain, key=gain.__getitem__)
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(names) + 1.2))
    ax.barh(names, [gain[n] / total for n in names])
    ax.set(
        xlabel="share of total gain",
        title=f"feature importance ({result.feature_set.name}, {result.champion})",
    )
    return _png(fig)


def _thin(n: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, _MAX_POINTS)).astype(np.int64))


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()
