"""What training produced, per feature set: every library's candidate and the champion among them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from fraud_model.features import FeatureSet
from training_job.threshold import ThresholdChoice
from training_job.train import Trained

if TYPE_CHECKING:
    from training_job.evasion import Evasion


@dataclass
class Candidate:
    """One library's model for one feature set, judged on validation, then measured on the holdout."""

    trained: Trained
    threshold: ThresholdChoice
    validation: dict[str, Any]  # pr_auc at the natural rate (the champion criterion), raw pr_auc, roc_auc
    holdout: dict[str, Any] = field(default_factory=dict)  # scored through fraud_model.scorer.Scorer
    holdout_probabilities: np.ndarray | None = field(default=None, repr=False)

    def metrics(self, champion: bool) -> dict[str, Any]:
        return {
            "champion": champion,
            "trees": self.trained.trees,
            "rounds": self.trained.rounds,
            "threshold": self.threshold.as_dict(),
            "validation": self.validation,
            "holdout": self.holdout,
        }


@dataclass
class FeatureSetResult:
    feature_set: FeatureSet
    candidates: dict[str, Candidate]
    champion: str
    logit_offset: float
    verify_max_diff: float = float("nan")
    holdout_labels: np.ndarray | None = field(default=None, repr=False)
    evasion: Evasion | None = None  # the evasion band's model (evasion.py), when the run trains one
    served_holdout: dict[str, Any] = field(default_factory=dict)  # with the band: the served score's figures

    @property
    def best(self) -> Candidate:
        return self.candidates[self.champion]

    def metrics(self) -> dict[str, dict[str, Any]]:
        return {library: c.metrics(library == self.champion) for library, c in self.candidates.items()}
