"""Training-time augmentation against evasion: changed copies of the training frauds, as a fraudster who
knows the model would change them (bookkeeping kept consistent).

PaySim's frauds almost all drain the account exactly, so a model learns "exactly all of the balance" and
ranks "almost all of it" with legitimate payments. Each copy round makes two rows of each fraud: one that
leaves a share of the balance behind, drawn log-uniformly between 0.1% and 50% (every size of remainder up
to half, none favoured), and one transfer of the same money moved in 2 to 4 equal pieces (which piece,
drawn). The stress test (stress.py) measures fixed families on the holdout; this draws its own, on the
training split only (a family it does not draw, round_down, measures how far the defence carries).
"""

from __future__ import annotations

import numpy as np

from fraud_model.schema import LABEL
from training_job.dataset import Dataset
from training_job.stress import piece, remainder

_LEFT = (0.001, 0.5)  # share of the balance left behind, log-uniform
_PARTS = (2, 4)  # a split's number of pieces, uniform
_MONEY = ("amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest")


WEIGHT = "_weight"  # a training row's weight: 1, or the copies' own


def evasive_copies(train: Dataset, copies: int, *, seed: int, weight: float = 1.0) -> Dataset:
    """`train` plus `copies` changed copies of each of its frauds (labelled fraud) that had a balance, each
    weighing `weight` in training (the rows' weights are the column WEIGHT)."""
    if copies <= 0:
        return train
    changed = changed_copies(train.take(np.flatnonzero(eligible(train.columns))), copies, seed=seed)
    if not len(changed):
        return train
    columns = {name: np.concatenate([train.columns[name], changed.columns[name]]) for name in train.columns}
    columns[WEIGHT] = np.r_[np.ones(len(train)), np.full(len(changed), weight)]
    return Dataset(columns, np.concatenate([train.source, changed.source]), train.sources)


def eligible(columns: dict[str, np.ndarray]) -> np.ndarray:
    """Training rows that get copies: frauds whose sender had a balance to leave part of."""
    return np.asarray((columns[LABEL] == 1) & (columns["oldbalanceOrg"] > 0))


def changed_copies(frauds: Dataset, copies: int, *, seed: int) -> Dataset:
    """`copies` changed copies of each row of `frauds` (the eligible training frauds, in training order)."""
    rng = np.random.default_rng(seed)
    parts = []
    money = {name: frauds.columns[name] for name in _MONEY if name in frauds.columns}
    for _ in range(copies if len(frauds) else 0):
        left = np.exp(rng.uniform(np.log(_LEFT[0]), np.log(_LEFT[1]), len(frauds)))
        parts.append({**frauds.columns, **remainder(left)(money)})  # the stress test's changes, drawn
        pieces = rng.integers(_PARTS[0], _PARTS[1] + 1, len(frauds))
        parts.append({**frauds.columns, **piece(money, pieces, rng.integers(0, pieces))})
    columns = (
        {name: np.concatenate([part[name] for part in parts]) for name in frauds.columns} if parts else {}
    )
    assert not parts or (columns[LABEL] == 1).all()
    source = np.tile(frauds.source, len(parts))
    return Dataset(columns or {k: v[:0] for k, v in frauds.columns.items()}, source, frauds.sources)
