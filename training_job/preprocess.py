"""Outlier handling, measured rather than assumed: in payments fraud often *is* the outlier.

Every run measures what common amount filters would remove, frauds and legitimate rows separately, and
reports it. The default keeps every valid row: the trees are invariant to monotone transforms, and the
features that divide (drain ratio) are already bounded by fraud_model.features.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TUKEY_K = 1.5  # Tukey's fences: Q1 - k*IQR, Q3 + k*IQR


def tukey_fences(values: np.ndarray, k: float = TUKEY_K) -> tuple[float, float]:
    q1, q3 = np.percentile(values, [25, 75])
    return float(q1 - k * (q3 - q1)), float(q3 + k * (q3 - q1))


def outlier_filters(amount: np.ndarray) -> dict[str, np.ndarray]:
    """Rows each common filter would remove (True = removed), computed on `amount`."""
    low, high = tukey_fences(amount)
    log_low, log_high = tukey_fences(np.log1p(amount))
    log_amount = np.log1p(amount)
    return {
        "iqr_amount": (amount < low) | (amount > high),
        "iqr_log_amount": (log_amount < log_low) | (log_amount > log_high),
        "above_p99_amount": amount > np.percentile(amount, 99),
        "above_p99_9_amount": amount > np.percentile(amount, 99.9),
    }


def measure_outliers(
    amount: np.ndarray, labels: np.ndarray, source: np.ndarray, names: list[str]
) -> dict[str, Any]:
    """Share of rows and share of frauds each filter would remove, per source (fences from that source)."""
    out: dict[str, Any] = {}
    for index, name in enumerate(names):
        rows = source == index
        if not rows.any():
            continue
        y = labels[rows].astype(bool)
        out[name] = {
            filter_name: {
                "rows_removed_share": float(removed.mean()),
                "frauds_removed_share": float(removed[y].mean()) if y.any() else None,
                "legit_removed_share": float(removed[~y].mean()) if (~y).any() else None,
            }
            for filter_name, removed in outlier_filters(amount[rows]).items()
        }
    return out


def keep_rows(policy: str, amount: np.ndarray) -> np.ndarray:
    """Training rows the policy keeps: `keep` keeps all; `iqr` drops amounts outside Tukey's fences."""
    if policy == "keep":
        return np.ones(amount.size, dtype=bool)
    if policy == "iqr":
        return ~outlier_filters(amount)["iqr_amount"]
    raise ValueError(f"unknown outlier policy {policy!r}")
