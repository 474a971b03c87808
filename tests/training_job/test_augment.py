"""Evasive training copies and the monotone constraints: the published models' risk (the shipped forests and
the evasion band's) never falls as the share of the sender's balance that leaves rises, all else equal."""

from __future__ import annotations

import numpy as np

from fraud_model.artifact import load_version
from fraud_model.features import FEATURE_SETS, MONOTONE
from fraud_model.forest import Forest
from fraud_model.store import LocalStore
from training_job import pipeline
from training_job.augment import evasive_copies
from training_job.dataset import generated_dataset


def test_augment_adds_frauds_that_leave_part_of_the_balance_and_pieces_of_split_ones() -> None:
    train, _ = generated_dataset(5_000, fraud_rate=0.05, seed=1)
    augmented = evasive_copies(train, 2, seed=7)
    eligible = (train.labels == 1) & (train.columns["oldbalanceOrg"] > 0)
    frauds = int(eligible.sum())
    assert len(augmented) == len(train) + 2 * 2 * frauds  # each round: a remainder and a piece of each
    added = {name: values[len(train) :] for name, values in augmented.columns.items()}
    assert (added["isFraud"] == 1).all()
    rounds = {name: values.reshape(2, 2, frauds) for name, values in added.items()}  # round, kind, fraud
    left = rounds["newbalanceOrig"][:, 0] / rounds["oldbalanceOrg"][:, 0]
    assert ((left >= 0.001 - 1e-9) & (left <= 0.5 + 1e-9)).all()
    assert np.allclose(rounds["oldbalanceOrg"][:, 0] - rounds["amount"][:, 0], rounds["newbalanceOrig"][:, 0])
    parts = train.columns["amount"][eligible] / rounds["amount"][:, 1]
    assert np.isin(np.round(parts, 6), [2, 3, 4]).all()  # the same money in 2 to 4 pieces
    assert (rounds["oldbalanceOrg"][:, 1] <= train.columns["oldbalanceOrg"][eligible] + 1e-6).all()
    assert len(np.unique(np.round(parts, 6))) == 3


def test_augment_off_changes_nothing() -> None:
    train, _ = generated_dataset(2_000, fraud_rate=0.05, seed=1)
    assert evasive_copies(train, 0, seed=7) is train


def test_published_model_risk_never_falls_as_more_of_the_balance_leaves(trained: pipeline.Outcome) -> None:
    loaded = load_version(LocalStore(trained.store_uri), trained.version)
    rng = np.random.default_rng(0)
    forests = [(name, spec.forest_file) for name, spec in loaded.metadata.models.items()]
    forests += [(name, s.evasion.forest_file) for name, s in loaded.metadata.models.items() if s.evasion]
    assert len(forests) == 2 * len(loaded.metadata.models)  # the evasion band's forests too
    for name, forest_file in forests:
        forest = Forest.from_bytes(loaded.files[forest_file])
        features = FEATURE_SETS[name].features
        constrained = [j for j, feature in enumerate(features) if MONOTONE.get(feature)]
        assert constrained, f"{forest_file} has no constrained feature"
        rows = np.abs(rng.normal(0, 1e5, size=(300, len(features)))).astype(np.float32)
        for j in constrained:
            grid = np.concatenate([np.linspace(0, 2, 201), [5, 10, 1e3, 1e4]]).astype(np.float32)
            margins = []
            for value in grid:
                x = rows.copy()
                x[:, j] = value
                margins.append(forest.margin(x))
            steps = np.diff(np.array(margins), axis=0) * MONOTONE[features[j]]
            assert (steps >= -1e-9).all(), f"{forest_file}: risk falls as {features[j]} rises"
