"""The scorer routes each transaction to the model its fields allow and scores like the native booster."""

from __future__ import annotations

import numpy as np
import pytest

from fraud_model import artifact
from fraud_model.errors import ArtifactError
from fraud_model.scorer import Scorer
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
