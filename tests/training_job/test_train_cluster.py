"""`fraud train --cluster`: XGBoost trained by `xgboost.dask` on a 2-worker LocalCluster publishes a version
that serves, close to the in-process model; one worker gives the in-process booster; an unreachable scheduler
is one readable line."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from fraud_cli.main import main
from fraud_model import artifact
from fraud_model.scorer import Scorer
from fraud_model.store import LocalStore
from tests.training_job.conftest import small_settings
from training_job import pipeline
from training_job.train import BoostParams, Matrix, train

FAST = ["--max-rounds", "25", "--early-stopping-rounds", "5", "--threads", "1", "--no-plots", "--no-progress"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    from distributed import LocalCluster

    # dashboard ":0": a free port (8787 may be taken by another cluster on a shared machine)
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0") as local:
        yield local.scheduler_address


@pytest.fixture(scope="module")
def published(cluster: str, paysim_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    """`fraud train --cluster` on the session's generated file (40,000 rows; 1,000-row batches: 28 chunks)."""
    store = LocalStore(tmp_path_factory.mktemp("store"))
    code = main(["train", "--data", str(paysim_csv), "--store", store.uri, "--cluster", cluster,
                 "--batch-rows", "1000", *FAST])  # fmt: skip
    assert code == 0
    return store


def test_train_cluster_publishes_a_version_the_scorer_serves(published: LocalStore) -> None:
    loaded = artifact.load_version(published, artifact.read_pointer(published))  # every sha256 checked
    scorer = Scorer(loaded)
    drained = {"amount": 181.0, "oldbalanceOrg": 181.0, "newbalanceOrig": 0.0}
    full = {**drained, "type": "TRANSFER", "oldbalanceDest": 0.0, "newbalanceDest": 0.0}
    scores = scorer.score_records([drained, full])
    assert [s.feature_set for s in scores] == ["origin", "full"]
    assert all(0.0 <= s.fraud_probability <= 1.0 for s in scores)
    assert {model.library for model in loaded.metadata.models.values()} == {"xgboost"}


def test_train_cluster_is_close_to_the_in_process_model(
    published: LocalStore, paysim_csv: Path, tmp_path: Path
) -> None:
    """Same features and rows; two workers sketch their own bins, so trees may differ (docs/training.md)."""
    theirs = artifact.load_version(published, artifact.read_pointer(published)).metadata
    ours = pipeline.run(
        small_settings(
            data=[str(paysim_csv)], model_store=str(tmp_path), libraries=["xgboost"], batch_rows=1000
        )  # fmt: skip
    ).metadata
    for name, model in ours.models.items():
        other = theirs.models[name]
        assert other.features == model.features
        assert 0.0 < other.threshold < 1.0
        assert abs(_holdout(other) - _holdout(model)) < 0.02, name


def test_train_cluster_on_one_worker_gives_the_in_process_booster() -> None:
    from distributed import Client, LocalCluster

    rng = np.random.default_rng(0)
    x = rng.normal(size=(6_000, 4)).astype(np.float32)
    y = (x[:, 0] + rng.normal(size=6_000) > 2).astype(np.int8)
    train_set, valid_set = Matrix(x[:4_000], y[:4_000]), Matrix(x[4_000:], y[4_000:])
    params = BoostParams(max_rounds=10, early_stopping_rounds=3, threads=1, monotone=(1, 0, 0, 0))
    names = ["a", "b", "c", "d"]
    here = train("xgboost", names, train_set, valid_set, params)
    with (
        LocalCluster(n_workers=1, processes=True, threads_per_worker=1, dashboard_address=":0") as local,
        Client(local, set_as_default=False) as client,
    ):
        there = train("xgboost", names, train_set, valid_set, params, cluster=client)
    assert there.native == here.native and there.trees == here.trees


def test_train_cluster_unreachable_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    code = main(["train", "--store", str(tmp_path), "--cluster", address, *FAST])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert len(err.splitlines()) == 1 and f"error: cannot reach the Dask cluster at {address}: " in err
    assert not list(tmp_path.iterdir())  # failed before anything was read or published


def test_train_cluster_from_the_environment_refuses_lightgbm_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FRAUD_DASK_CLUSTER", "tcp://127.0.0.1:8786")
    code = main(["train", "--store", str(tmp_path), "--libraries", "lightgbm", *FAST])
    assert code == 2
    assert "a Dask cluster trains xgboost only" in capsys.readouterr().err


def _holdout(model: artifact.FeatureSetModel) -> float:
    return float(model.metrics["xgboost"]["holdout"]["pr_auc"])


def test_train_cluster_is_refused_with_remote(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "--remote", "--cluster", "tcp://127.0.0.1:8786"])
    assert code == 2
    assert capsys.readouterr().err.strip().endswith("drop --cluster")
