"""`fraud train --cluster`: the workers of a 2-worker LocalCluster read the files (on disk, or in S3 through a
moto server) and XGBoost trains there; the version published serves and is as good as the in-process model;
one worker gives the in-process booster; an unreachable scheduler is one readable line."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from moto.server import ThreadedMotoServer

from fraud_cli.main import main
from fraud_model import artifact
from fraud_model.scorer import Scorer
from fraud_model.store import LocalStore
from tests.training_job.clusters import local_cluster
from tests.training_job.conftest import small_settings
from training_job import dataset, pipeline
from training_job.generator import generate, write_csv
from training_job.train import BoostParams, Matrix, train

FAST = ["--max-rounds", "25", "--early-stopping-rounds", "5", "--threads", "1", "--no-plots", "--no-progress"]
_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cluster(s3_endpoint: str) -> Iterator[str]:
    """Workers that reach the moto server as their S3 (the environment they start with, as on AWS)."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in {**_AWS, "FRAUD_S3_ENDPOINT_URL": s3_endpoint}.items():
            env.setenv(name, value)
        with local_cluster() as local:
            env.delenv("FRAUD_S3_ENDPOINT_URL")  # the workers have it; this process sets it where it needs it
            yield local.scheduler_address


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three files (120,000 rows; 3 with a negative amount): three partitions, one a file."""
    folder = tmp_path_factory.mktemp("inputs")
    for index in range(3):
        columns = generate(40_000, fraud_rate=0.01, seed=30 + index)
        columns["amount"][:index] = -5.0
        write_csv(columns, folder / f"part-{index}.csv.gz")
    return folder


@pytest.fixture(scope="module")
def published(cluster: str, inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    """`fraud train --cluster` on the files on disk, the client's own reader disabled: the workers read."""
    store = LocalStore(tmp_path_factory.mktemp("store"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dataset, "read_batches", _no_reading_here)
        code = main(["train", "--data", str(inputs), "--store", store.uri, "--cluster", cluster, *FAST])
    assert code == 0
    return store


@pytest.fixture(scope="module")
def in_process(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> artifact.Metadata:
    store = tmp_path_factory.mktemp("in-process")
    settings = small_settings(data=[str(inputs)], model_store=str(store), libraries=["xgboost"])
    return pipeline.run(settings).metadata


def test_train_cluster_publishes_a_version_the_scorer_serves(published: LocalStore) -> None:
    loaded = artifact.load_version(published, artifact.read_pointer(published))  # every sha256 checked
    scorer = Scorer(loaded)
    drained = {"amount": 181.0, "oldbalanceOrg": 181.0, "newbalanceOrig": 0.0}
    full = {**drained, "type": "TRANSFER", "oldbalanceDest": 0.0, "newbalanceDest": 0.0}
    scores = scorer.score_records([drained, full])
    assert [s.feature_set for s in scores] == ["origin", "full"]
    assert all(0.0 <= s.fraud_probability <= 1.0 for s in scores)
    assert {model.library for model in loaded.metadata.models.values()} == {"xgboost"}


def test_train_cluster_is_as_good_as_the_in_process_model(
    published: LocalStore, in_process: artifact.Metadata
) -> None:
    """Same rows, split, quarantine; two workers sketch their own bins: trees may differ (docs/training)."""
    theirs = artifact.load_version(published, artifact.read_pointer(published)).metadata
    _assert_as_good(theirs, in_process)


def test_train_cluster_workers_read_the_partitions_from_s3(
    cluster: str, s3_endpoint: str, inputs: Path, in_process: artifact.Metadata, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    for name, value in {**_AWS, "FRAUD_S3_ENDPOINT_URL": s3_endpoint}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket="data")
    for path in sorted(inputs.iterdir()):
        client.upload_file(str(path), "data", f"paysim/{path.name}")
    monkeypatch.setattr(dataset, "read_batches", _no_reading_here)  # the client lists; the workers read
    store = LocalStore(tmp_path)
    assert (
        main(["train", "--data", "s3://data/paysim", "--store", store.uri, "--cluster", cluster, *FAST]) == 0
    )

    loaded = artifact.load_version(store, artifact.read_pointer(store))
    assert Scorer(loaded).score_records([{"amount": 5.0, "oldbalanceOrg": 5.0, "newbalanceOrig": 0.0}])
    assert [source["uri"] for source in loaded.metadata.data] == [
        f"s3://data/paysim/part-{index}.csv.gz" for index in range(3)
    ]
    assert [source["sha256"] for source in loaded.metadata.data] == [s["sha256"] for s in in_process.data]
    _assert_as_good(loaded.metadata, in_process)


def test_train_cluster_generates_the_demo_data_on_a_worker(cluster: str, tmp_path: Path) -> None:
    settings = small_settings(generate_rows=20_000, model_store=str(tmp_path), dask_cluster=cluster)
    outcome = pipeline.run(settings)
    here = pipeline.run(
        small_settings(generate_rows=20_000, model_store=str(tmp_path), libraries=["xgboost"])
    )
    assert outcome.metadata.data == here.metadata.data  # the same seeded rows, generated there
    assert artifact.load_version(LocalStore(tmp_path), outcome.version).metadata.version == outcome.version


def test_train_cluster_on_one_worker_gives_the_in_process_booster() -> None:
    from distributed import Client

    rng = np.random.default_rng(0)
    x = rng.normal(size=(6_000, 4)).astype(np.float32)
    y = (x[:, 0] + rng.normal(size=6_000) > 2).astype(np.int8)
    train_set, valid_set = Matrix(x[:4_000], y[:4_000]), Matrix(x[4_000:], y[4_000:])
    params = BoostParams(max_rounds=10, early_stopping_rounds=3, threads=1, monotone=(1, 0, 0, 0))
    names = ["a", "b", "c", "d"]
    here = train("xgboost", names, train_set, valid_set, params)
    with local_cluster(workers=1) as local, Client(local, set_as_default=False) as client:
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


def _assert_as_good(theirs: artifact.Metadata, ours: artifact.Metadata) -> None:
    def by_file(table: dict[str, Any]) -> Any:  # the files' URIs aside (s3:// or a local path)
        return {key: list(value.values()) if key == "by_source" else value for key, value in table.items()}

    assert by_file(theirs.quarantine) == by_file(ours.quarantine) and theirs.quarantine["quarantined"] == 3
    assert [{**entry, "source": ""} for entry in theirs.splits] == [
        {**entry, "source": ""} for entry in ours.splits
    ]
    for name, model in ours.models.items():
        other = theirs.models[name]
        assert other.features == model.features
        assert 0.0 < other.threshold < 1.0
        assert abs(_holdout(other) - _holdout(model)) <= 1e-3, name


def _no_reading_here(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"the client read a data file (pid {os.getpid()})")


def test_train_cluster_is_refused_with_remote(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "--remote", "--cluster", "tcp://127.0.0.1:8786"])
    assert code == 2
    assert capsys.readouterr().err.strip().endswith("drop --cluster")
