"""The scorer routes each transaction to the model its fields allow and scores like the native booster."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fraud_model import artifact
from fraud_model.errors import ArtifactError
from fraud_model.schema import TRANSACTION_TYPES as TYPES
from fraud_model.scorer import Scorer, records_to_columns
from fraud_model.store import LocalStore
from tests.factory import generated_columns, publish_tiny_version

SEED = {"amount": 112.00, "oldbalanceOrg": 100.00, "newbalanceOrig": 0.00}
FULL = {**SEED, "type": "TRANSFER", "oldbalanceDest": 0.0, "newbalanceDest": 0.0}


@pytest.fixture(scope="module", params=["xgboost", "lightgbm"])
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> artifact.LoadedVersion:
    store = LocalStore(tmp_path_factory.mktemp("store"))
    version = publish_tiny_version(store, rounds=10, library=request.param)
    return artifact.load_version(store, version)


def test_score_records_seed_fields_use_the_origin_model(loaded: artifact.LoadedVersion) -> None:
    (score,) = Scorer(loaded).score_records([SEED])
    assert score.feature_set == "origin" and 0.0 <= score.confidence <= 1.0


def test_score_records_keep_input_order_across_models(loaded: artifact.LoadedVersion) -> None:
    scorer = Scorer(loaded)
    mixed = scorer.score_records([SEED, FULL, SEED])
    assert [s.feature_set for s in mixed] == ["origin", "full", "origin"]
    assert mixed[0] == mixed[2] == scorer.score_records([SEED])[0]


def test_score_confidence_is_the_probability_of_the_decision(loaded: artifact.LoadedVersion) -> None:
    for score in Scorer(loaded).score_records([SEED, FULL]):
        expected = score.fraud_probability if score.is_fraud else 1 - score.fraud_probability
        assert score.confidence == pytest.approx(expected)
        assert score.is_fraud == (score.fraud_probability >= score.threshold)


def test_probabilities_match_the_native_booster(loaded: artifact.LoadedVersion) -> None:
    scorer = Scorer(loaded)
    columns = generated_columns(3000, seed=5)
    spec = scorer.model("full")
    features = scorer._models["full"].feature_set.compute(columns)
    booster = scorer._models["full"].booster()
    if spec.library == "xgboost":
        import xgboost

        native = booster.predict(xgboost.DMatrix(features))
    else:
        native = booster.predict(features)
    assert np.max(np.abs(scorer.probabilities("full", columns) - native)) <= 1e-5


def test_explain_names_real_features(loaded: artifact.LoadedVersion) -> None:
    reasons = Scorer(loaded).explain(FULL, top=3)
    assert len(reasons) == 3
    assert {r.feature for r in reasons} <= set(loaded.metadata.models["full"].features)


def test_scorer_refuses_a_feature_list_that_drifted(loaded: artifact.LoadedVersion) -> None:
    metadata = loaded.metadata.model_copy(deep=True)
    metadata.models["full"].features = [*metadata.models["full"].features[1:], "amount"]
    with pytest.raises(ArtifactError, match="differs from this code"):
        Scorer(artifact.LoadedVersion(metadata=metadata, files=loaded.files))


def test_route_too_few_fields_raises(loaded: artifact.LoadedVersion) -> None:
    with pytest.raises(KeyError, match="no published model"):
        Scorer(loaded).route({"amount"})


@pytest.fixture(scope="module", params=["xgboost", "lightgbm"])
def banded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> artifact.LoadedVersion:
    store = LocalStore(tmp_path_factory.mktemp("banded"))
    version = publish_tiny_version(store, rounds=10, library=request.param, threshold=0.3, band=0.9)
    return artifact.load_version(store, version)


def _without_band(loaded: artifact.LoadedVersion) -> artifact.LoadedVersion:
    """The same shipped models as a version published before the band: no evasion keys in its metadata."""
    raw = json.loads(loaded.metadata.model_dump_json())
    del raw["evasion_band"]
    for model in raw["models"].values():
        del model["evasion"]
    return artifact.LoadedVersion(artifact.Metadata.model_validate(raw), loaded.files)


def test_band_lifts_scores_under_the_threshold_never_over(banded: artifact.LoadedVersion) -> None:
    scorer = Scorer(banded)
    columns = generated_columns(5000, seed=9)
    served, alone = scorer.probabilities("full", columns), scorer.probabilities("full", columns, band=False)
    lifted = served > alone
    assert lifted.any() and (served >= alone).all()
    assert (served[lifted] < 0.9 * 0.3 + 1e-12).all()
    np.testing.assert_array_equal(served >= 0.3, alone >= 0.3)


def test_band_single_row_equals_the_batch_paths(banded: artifact.LoadedVersion) -> None:
    scorer = Scorer(banded)
    columns = generated_columns(300, seed=4)
    names = ("type", "amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest")
    records = [
        {name: TYPES[int(columns[name][i])] if name == "type" else float(columns[name][i]) for name in names}
        for i in range(300)
    ]
    one = [scorer.score_one(record).fraud_probability for record in records]
    lists = scorer.score_lists({name: [r[name] for r in records] for name in names}).fraud_probability
    assert one == lists.tolist() == [s.fraud_probability for s in scorer.score_records(records)]
    assert one == scorer.probabilities("full", {n: columns[n] for n in names}).tolist()
    assert one != scorer.probabilities("full", {n: columns[n] for n in names}, band=False).tolist()


def test_a_version_without_band_scores_as_its_shipped_models(banded: artifact.LoadedVersion) -> None:
    old, columns = Scorer(_without_band(banded)), generated_columns(2000, seed=3)
    assert not old.has_band("full") and Scorer(banded).has_band("full")
    np.testing.assert_array_equal(
        old.probabilities("full", columns), Scorer(banded).probabilities("full", columns, band=False)
    )
    assert (
        old.score_one(FULL).fraud_probability
        == Scorer(banded).probabilities(
            "full", records_to_columns([FULL], banded.metadata.models["full"].inputs), band=False
        )[0]
    )


def test_band_explanations_are_the_shipped_models(banded: artifact.LoadedVersion) -> None:
    assert Scorer(banded).explain(FULL) == Scorer(_without_band(banded)).explain(FULL)


def test_verify_native_checks_the_evasion_forest(banded: artifact.LoadedVersion) -> None:
    spec = banded.metadata.models["full"]
    assert spec.evasion is not None
    files = {**banded.files, spec.evasion.forest_file: banded.files[spec.forest_file]}
    with pytest.raises(ArtifactError, match="evasion.*disagree"):
        Scorer(artifact.LoadedVersion(banded.metadata, files)).verify_native()
