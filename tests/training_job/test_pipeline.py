"""End to end: generated PaySim CSV -> train -> publish to moto S3 -> load, verify, score with the Scorer."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from fraud_model import artifact, constants
from fraud_model.scorer import Scorer
from fraud_model.store import Store, open_store
from tests.training_job.conftest import small_settings, without_fraud_env
from training_job import pipeline
from training_job.errors import DataQualityError
from training_job.generator import generate, write_csv

STORE = "s3://models/fraud"


@pytest.fixture(scope="module")
def on_s3(paysim_csv: Path) -> Iterator[tuple[pipeline.Outcome, Store]]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        without_fraud_env(monkeypatch)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.setenv(name, "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        with mock_aws():
            boto3.client("s3").create_bucket(Bucket="models")
            outcome = pipeline.run(small_settings(data=[str(paysim_csv)], model_store=STORE))
            yield outcome, open_store(STORE)


def test_pipeline_publishes_to_s3_a_version_the_scorer_scores(on_s3: tuple[pipeline.Outcome, Store]) -> None:
    outcome, store = on_s3
    scorer = Scorer(artifact.load_version(store, artifact.read_pointer(store)))
    seed_api = {"amount": 181.0, "oldbalanceOrg": 181.0, "newbalanceOrig": 0.0}
    full = {**seed_api, "type": "TRANSFER", "oldbalanceDest": 0.0, "newbalanceDest": 0.0}
    scores = scorer.score_records([seed_api, full])
    assert scorer.version == outcome.version
    assert [s.feature_set for s in scores] == ["origin", "full"]
    assert all(0.0 <= s.fraud_probability <= 1.0 for s in scores)


def test_pipeline_version_is_loaded_by_the_serving_model_cache(on_s3: tuple[pipeline.Outcome, Store]) -> None:
    from lambda_handler.config import Settings
    from lambda_handler.model_cache import ModelCache

    outcome, _ = on_s3
    scorer = ModelCache(Settings(model_store=STORE)).get()  # verifies every sha256, as the Lambda does
    score = scorer.score_one({"amount": 112.0, "oldbalanceOrg": 100.0, "newbalanceOrig": 0.0})
    assert scorer.version == outcome.version and score.feature_set == "origin"


def test_pipeline_publishes_one_champion_per_feature_set(on_s3: tuple[pipeline.Outcome, Store]) -> None:
    models = on_s3[0].metadata.models
    assert list(models) == ["full", "origin"]
    assert models["origin"].inputs == ["amount", "oldbalanceOrg", "newbalanceOrig"]


def test_pipeline_records_holdout_metrics_of_both_libraries(on_s3: tuple[pipeline.Outcome, Store]) -> None:
    for model in on_s3[0].metadata.models.values():
        assert set(model.metrics) == {"xgboost", "lightgbm"}
        assert [m["champion"] for m in model.metrics.values()].count(True) == 1
        assert all(0 <= m["holdout"]["pr_auc"] <= 1 for m in model.metrics.values())


def test_pipeline_picks_the_champion_by_validation_pr_auc(on_s3: tuple[pipeline.Outcome, Store]) -> None:
    for model in on_s3[0].metadata.models.values():
        best = max(model.metrics, key=lambda library: model.metrics[library]["validation"]["pr_auc"])
        assert model.library == best


def test_pipeline_writes_the_report_beside_the_model(on_s3: tuple[pipeline.Outcome, Store]) -> None:
    outcome, store = on_s3
    keys = store.list(f"{constants.REPORTS_PREFIX}/{outcome.version}")
    assert {f"{outcome.report_prefix}/report.md", f"{outcome.report_prefix}/metrics.json"} <= set(keys)


def test_pipeline_corrects_the_prior_to_the_natural_rate(on_s3: tuple[pipeline.Outcome, Store]) -> None:
    metadata = on_s3[0].metadata
    p = metadata.params
    pi = p["natural_fraud_rate"]
    expected = math.log(pi / (1 - pi)) - math.log(
        p["train_positives"] * p["scale_pos_weight"] / p["train_negatives"]
    )
    assert metadata.models["full"].logit_offset == pytest.approx(expected)


def test_pipeline_fails_and_keeps_the_quarantine_when_too_many_rows_are_bad(tmp_path: Path) -> None:
    path = write_csv(generate(2_000, fraud_rate=0.02, seed=5), tmp_path / "bad.csv")
    with path.open("a") as handle:
        handle.writelines("7,PAYMENT,-1.0,C1,10.0,11.0,M2,0.0,0.0,0,0\n" for _ in range(40))  # 2 % bad
    store = open_store(str(tmp_path / "store"))
    with pytest.raises(DataQualityError, match=r"40 of 2040 rows .* amount:negative 40"):
        pipeline.run(small_settings(data=[str(path)], model_store=store.uri))
    assert [key.rsplit("/", 1)[1] for key in store.list(constants.REPORTS_PREFIX)] == ["quarantine.csv.gz"]
    assert artifact.list_versions(store) == []
