"""Training-time augmentation against evasion: copies of the training frauds that leave part of the sender's
balance behind, as a fraudster who knows the model would (bookkeeping kept consistent).

PaySim's frauds almost all drain the account exactly, so a model learns "exactly all of the balance" and
ranks "almost all of it" with legitimate payments. Each copy leaves a share drawn log-uniformly between 0.1%
and 50% of the balance: every size of remainder up to half, none favoured. The stress test (stress.py)
measures fixed families on the holdout; this draws its own, on the training split only.
"""

from __future__ import annotations

import numpy as np

from fraud_model.schema import LABEL
from training_job.dataset import Dataset
from training_job.stress import remainder

_LEFT = (0.001, 0.5)  # share of the balance left behind, log-uniform
_MONEY = ("amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest")


WEIGHT = "_weight"  # a training row's weight: 1, or the copies' own


def evasive_copies(train: Dataset, copies: int, *, seed: int, weight: float = 1.0) -> Dataset:
    """`train` plus `copies` changed copies of each of its frauds (labelled fraud) that had a balance, each
    weighing `weight` in training (the rows' weights are the column WEIGHT)."""
    if copies <= 0:
        return train
    frauds = train.take(np.flatnonzero((train.labels == 1) & (train.columns["oldbalanceOrg"] > 0)))
    if not len(frauds):
        return train
    rng = np.random.default_rng(seed)
    parts = [train]
    for _ in range(copies):
        left = np.exp(rng.uniform(np.log(_LEFT[0]), np.log(_LEFT[1]), len(frauds)))
        money = {name: frauds.columns[name] for name in _MONEY if name in frauds.columns}
        changed = remainder(left)(money)  # the stress test's own change, with a share drawn per fraud
        parts.append(Dataset({**frauds.columns, **changed}, frauds.source, frauds.sources))
    columns = {name: np.concatenate([part.columns[name] for part in parts]) for name in train.columns}
    columns[WEIGHT] = np.r_[np.ones(len(train)), np.full(len(columns[LABEL]) - len(train), weight)]
    assert (columns[LABEL][len(train) :] == 1).all()
    return Dataset(columns, np.concatenate([part.source for part in parts]), train.sources)
