"""The evasion band's models (issue 15): beside each feature set's shipped model, an evasion model trained
on the same split with `BAND_COPY_ROUNDS` rounds of evasive copies of the training frauds (augment.py, the
training stream's tail), by the shipped champion's library, monotone like it. The version serves
max(shipped, e × top / (top + e)), top = c × threshold (fraud_model.scorer): the threshold, chosen on the
shipped model alone, decides exactly what it decided before, while the evasion model ranks the changed frauds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from fraud_model.features import FeatureSet
from training_job.config import TrainSettings
from training_job.dataset import Dataset
from training_job.prepare import Splits, train_data
from training_job.stream import TrainStream
from training_job.threshold import logit_offset
from training_job.train import BoostParams, Trained, early_stopping_set, train, verify

if TYPE_CHECKING:
    from training_job.cluster_data import ClusterTrain

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Weighting:
    """A training split's class weighting: counts by weight (copies count as much as they weigh), the
    positive-class weight and the prior correction from that mix to the natural fraud rate."""

    positives: float
    negatives: float
    scale_pos_weight: float
    logit_offset: float

    @property
    def counts(self) -> tuple[float, float]:
        return self.positives, self.negatives


@dataclass
class Evasion:
    """One feature set's evasion model, its prior correction and its export's largest difference."""

    trained: Trained
    logit_offset: float
    verify_max_diff: float


def weighting(stream: TrainStream | ClusterTrain, settings: TrainSettings) -> Weighting:
    labels = stream.labels
    weights = stream.weights if stream.weights is not None else np.ones(labels.size)
    positives, negatives = float(weights[labels == 1].sum()), float(weights[labels == 0].sum())
    spw = settings.scale_pos_weight(positives, negatives)
    return Weighting(
        positives, negatives, spw, logit_offset(settings.natural_fraud_rate, positives, negatives, spw)
    )


def train_evasion(
    feature_set: FeatureSet,
    library: str,
    splits: Splits,
    params: BoostParams,
    settings: TrainSettings,
    client: Any = None,
) -> Evasion:
    """The evasion model of `feature_set` on the training stream with its evasive copies, early stopping
    on the unchanged validation split like the shipped model; its forest export verified."""
    weights = weighting(splits.train, settings)
    params = replace(
        params, scale_pos_weight=weights.scale_pos_weight, max_rounds=settings.evasion_max_rounds
    )
    if settings.monotone:
        params = replace(params, monotone=feature_set.monotone())
    x, labels = feature_set.compute(splits.validation.columns), splits.validation.labels
    valid_set = early_stopping_set(x, labels, params.scale_pos_weight)
    trained = train(
        library,
        list(feature_set.features),
        train_data(splits.train, feature_set),
        valid_set,
        params,
        label=f"{feature_set.name} evasion",
        progress=settings.progress,
        cluster=client,
    )
    diff = verify_export(trained, feature_set, splits.holdout, settings.verify_rows)
    log.info("%s evasion model: %s, %d trees", feature_set.name, library, trained.trees)
    return Evasion(trained, weights.logit_offset, diff)


def verify_export(trained: Trained, feature_set: FeatureSet, holdout: Dataset, rows: int) -> float:
    """A forest export against its native booster on (a sample of) the holdout."""
    sample = holdout.take(np.arange(0, len(holdout), max(1, -(-len(holdout) // rows))))
    return verify(trained, feature_set.compute(sample.columns))
