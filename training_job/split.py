"""Split by time, never at random: each source by its own `step` quantiles into train, validation and holdout.

Sources differ in time span and traffic (743 sampled hours vs 30 simulated ones), so one global cut would
leave a source entirely in one split. Whole steps stay together, so no hour leaks across a boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fraud_model.errors import InputError

TRAIN, VALIDATION, HOLDOUT = 0, 1, 2
SPLIT_NAMES = ("train", "validation", "holdout")


@dataclass(frozen=True)
class StepCuts:
    """Train: step <= train_until; validation: up to validation_until; holdout: the later steps."""

    train_until: float
    validation_until: float


def step_cuts(
    steps: np.ndarray, train_share: float, validation_share: float, *, name: str = "data"
) -> StepCuts:
    """Cut points at the row quantiles of `steps`, on whole steps, every split getting at least one."""
    unique, counts = np.unique(steps, return_counts=True)
    return counted_cuts(unique, counts, train_share, validation_share, name=name)


def counted_cuts(
    unique: np.ndarray, counts: np.ndarray, train_share: float, validation_share: float, *, name: str = "data"
) -> StepCuts:
    """`step_cuts` from the distinct steps (sorted) and their row counts: a summary a Dask worker sends."""
    if unique.size < 3:
        raise InputError(f"{name} spans {unique.size} distinct steps; splitting by time needs at least 3")
    cumulative = np.cumsum(counts) / counts.sum()
    first = int(np.searchsorted(cumulative, train_share - 1e-12))
    first = min(max(first, 0), unique.size - 3)
    second = int(np.searchsorted(cumulative, train_share + validation_share - 1e-12))
    second = min(max(second, first + 1), unique.size - 2)
    return StepCuts(float(unique[first]), float(unique[second]))


def assign_splits(
    steps: np.ndarray, source: np.ndarray, train_share: float, validation_share: float, names: list[str]
) -> tuple[np.ndarray, list[StepCuts]]:
    """Split code (TRAIN / VALIDATION / HOLDOUT) of every row, and each source's cuts."""
    split = np.empty(steps.size, dtype=np.int8)
    cuts: list[StepCuts] = []
    for index, name in enumerate(names):
        rows = source == index
        cut = step_cuts(steps[rows], train_share, validation_share, name=name)
        s = steps[rows]
        split[rows] = np.where(
            s <= cut.train_until, TRAIN, np.where(s <= cut.validation_until, VALIDATION, HOLDOUT)
        )
        cuts.append(cut)
    return split, cuts


def describe(
    split: np.ndarray,
    source: np.ndarray,
    labels: np.ndarray,
    steps: np.ndarray,
    names: list[str],
    cuts: list[StepCuts],
) -> list[dict[str, Any]]:
    """Rows, frauds and step range of every (source, split), for the report."""
    out = []
    for index, name in enumerate(names):
        entry: dict[str, Any] = {
            "source": name,
            "train_until_step": cuts[index].train_until,
            "validation_until_step": cuts[index].validation_until,
        }
        for code, split_name in enumerate(SPLIT_NAMES):
            rows = (source == index) & (split == code)
            entry[split_name] = {
                "rows": int(rows.sum()),
                "frauds": int(labels[rows].sum()),
                "steps": [float(steps[rows].min()), float(steps[rows].max())] if rows.any() else [],
            }
        out.append(entry)
    return out


def describe_counts(
    name: str, cut: StepCuts, unique: np.ndarray, counts: np.ndarray, frauds: np.ndarray
) -> dict[str, Any]:
    """`describe`'s entry of one source from its distinct steps (sorted), rows and frauds a step."""
    split = np.where(
        unique <= cut.train_until, TRAIN, np.where(unique <= cut.validation_until, VALIDATION, HOLDOUT)
    )
    entry: dict[str, Any] = {
        "source": name,
        "train_until_step": cut.train_until,
        "validation_until_step": cut.validation_until,
    }
    for code, split_name in enumerate(SPLIT_NAMES):
        steps = split == code
        entry[split_name] = {
            "rows": int(counts[steps].sum()),
            "frauds": int(frauds[steps].sum()),
            "steps": [float(unique[steps].min()), float(unique[steps].max())] if steps.any() else [],
        }
    return entry
