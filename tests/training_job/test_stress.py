"""The evasion stress test: its changes keep the bookkeeping an adversary must keep, and its figures come
from the published model (a test that computes them again), in the report and metrics.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fraud_model.artifact import load_version
from fraud_model.scorer import Scorer
from fraud_model.store import LocalStore
from training_job import pipeline, stress

DRAINS = {
    "amount": np.array([1000.0, 250.0, 181.5]),
    "oldbalanceOrg": np.array([1000.0, 250.0, 181.5]),
    "newbalanceOrig": np.zeros(3),
    "oldbalanceDest": np.array([0.0, 10.0, 500.0]),
    "newbalanceDest": np.array([0.0, 260.0, 681.5]),
    "type": np.array([4, 1, 4], dtype=np.int8),
}


@pytest.mark.parametrize("family", list(stress.FAMILIES))
def test_stress_family_keeps_the_origin_bookkeeping(family: str) -> None:
    changed = stress.FAMILIES[family](dict(DRAINS))
    error = changed["oldbalanceOrg"] - changed["amount"] - changed["newbalanceOrig"]
    assert np.allclose(error, 0.0)
    assert (changed["amount"] > 0).all()


def test_stress_remainder_leaves_its_share() -> None:
    changed = stress.remainder(0.05)(dict(DRAINS))
    assert np.allclose(changed["newbalanceOrig"], 0.05 * DRAINS["oldbalanceOrg"])
    gained = changed["newbalanceDest"] - changed["oldbalanceDest"]
    assert np.allclose(gained, (DRAINS["newbalanceDest"] - DRAINS["oldbalanceDest"]) * 0.95)


def test_stress_split_moves_the_same_money_in_pieces() -> None:
    pieces = stress.split(3)(dict(DRAINS))
    assert pieces["amount"].size == 9
    assert np.allclose(pieces["amount"].reshape(3, 3).sum(axis=0), DRAINS["amount"])
    assert np.allclose(pieces["newbalanceOrig"][-3:], 0.0)  # only the last piece empties the account


def test_stress_round_down_leaves_the_rest() -> None:
    changed = stress.round_down(dict(DRAINS))
    assert changed["amount"].tolist() == [1000.0, 250.0, 180.0]
    assert changed["newbalanceOrig"].tolist() == [0.0, 0.0, 1.5]


def test_stress_figures_are_computed_from_the_published_model(trained: pipeline.Outcome) -> None:
    metrics = json.loads((Path(trained.store_uri) / trained.report_prefix / "metrics.json").read_text())
    scorer = Scorer(load_version(LocalStore(trained.store_uri), trained.version))
    for name, families in metrics["stress"].items():
        assert set(families) == set(stress.FAMILIES)
        for figures in families.values():
            assert all(0.0 <= figures[key] <= 1.0 for key in ("recall", "recall_at_fpr_1pct", "roc_auc"))
        threshold = scorer.model(name).threshold
        assert families["none"]["recall"] == pytest.approx(trained_recall(trained, scorer, name, threshold))
    report = (Path(trained.store_uri) / trained.report_prefix / "report.md").read_text()
    assert "## Evasion stress test" in report and "remainder_5pct" in report and "shipped alone" in report


def test_stress_reports_the_served_band_and_the_shipped_model_alone(trained: pipeline.Outcome) -> None:
    metrics = json.loads((Path(trained.store_uri) / trained.report_prefix / "metrics.json").read_text())
    scorer = Scorer(load_version(LocalStore(trained.store_uri), trained.version))
    lifted = 0
    for name, families in metrics["stress"].items():
        result = next(r for r in trained.results if r.feature_set.name == name)
        frauds = result.holdout_labels.astype(bool)
        alone = result.best.holdout_probabilities[frauds]  # the shipped model's own holdout scores
        none = families["none"]
        assert none["shipped"]["recall"] == pytest.approx(
            float(np.mean(alone >= scorer.model(name).threshold))
        )
        assert none["recall"] == none["shipped"]["recall"]  # the band never crosses the threshold
        lifted += sum(m["roc_auc"] != m["shipped"]["roc_auc"] for m in families.values())
    assert lifted  # the served figures are the evasion model's ranking, not a copy of the shipped ones


def trained_recall(outcome: pipeline.Outcome, scorer: Scorer, name: str, threshold: float) -> float:
    """The unchanged frauds' recall at the threshold, computed here from the holdout probabilities."""
    result = next(r for r in outcome.results if r.feature_set.name == name)
    p = result.best.holdout_probabilities
    frauds = result.holdout_labels.astype(bool)
    return float(np.mean(p[frauds] >= threshold))
