"""The workers' split of `fraud train --cluster` holds what the in-process split holds: the same validation
and holdout rows, training labels and weights (evasive copies too), split table, outlier measurement and
quarantine; a worker's bad file is the in-process error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tests.training_job.clusters import local_cluster
from tests.training_job.conftest import small_settings
from training_job import cluster_data, prepare
from training_job.cluster_data import ClusterFeatures, ClusterTrain
from training_job.dataset import Dataset
from training_job.errors import DataQualityError
from training_job.generator import generate, write_csv
from training_job.stream import TrainStream


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from distributed import Client

    with local_cluster() as local, Client(local, set_as_default=False) as client:
        yield client


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three files of three formats, one with a few bad rows: three partitions."""
    folder = tmp_path_factory.mktemp("inputs")
    write_csv(generate(6_000, fraud_rate=0.02, seed=21), folder / "a.csv.gz")
    b = write_csv(generate(5_000, fraud_rate=0.02, seed=22), folder / "b.csv")
    pq.write_table(pacsv.read_csv(b), folder / "b.parquet")
    b.unlink()
    columns = generate(4_000, fraud_rate=0.02, seed=23)
    columns["amount"][:3] = -5.0  # quarantined: amount:negative
    write_csv(columns, folder / "c.csv")
    return folder


def _splits(inputs: Path, tmp_path: Path, client: Any = None, **overrides: Any) -> tuple[Any, dict[str, Any]]:
    settings = small_settings(data=[str(inputs)], **overrides)
    context: dict[str, Any] = {}
    loaded = prepare.load(settings, tmp_path, cluster=client)
    context["quarantine"] = loaded.quarantine.summary()
    return prepare.split(loaded, settings, context, tmp_path), context


def _same(a: Dataset, b: Dataset) -> None:
    assert a.columns.keys() == b.columns.keys() and a.sources == b.sources
    for name, values in a.columns.items():
        np.testing.assert_array_equal(b.columns[name], values, err_msg=name)
    np.testing.assert_array_equal(b.source, a.source)


def _train_rows(train: ClusterTrain) -> dict[str, np.ndarray]:
    parts = [future.result() for future, _ in train.parts]
    return {name: np.concatenate([part.columns[name] for part in parts]) for name in parts[0].columns}


def _streamed_rows(train: TrainStream) -> dict[str, np.ndarray]:
    batches = [train.batch(i) for i in range(train.batches)]
    return {name: np.concatenate([batch[name] for batch in batches]) for name in batches[0]}


@pytest.mark.parametrize(("copies", "band"), [(0, 0.0), (1, 0.0), (0, 0.9)])
def test_cluster_split_holds_the_in_process_rows(
    client: Any, inputs: Path, tmp_path: Path, copies: int, band: float
) -> None:
    options = {"evasive_copies": copies, "evasive_weight": 0.5, "evasion_band": band}
    here, here_context = _splits(inputs, tmp_path, **options)
    there, there_context = _splits(inputs, tmp_path, client, **options)

    drawn = bool(copies or band)  # the shipped models' copies, or the band's evasion models'
    assert isinstance(there.train, ClusterTrain) and len(there.train.parts) == 3 + drawn
    assert there_context == here_context and here_context["quarantine"]["quarantined"] == 3
    _same(here.validation, there.validation)
    _same(here.holdout, there.holdout)
    np.testing.assert_array_equal(there.validation_weights, here.validation_weights)
    np.testing.assert_array_equal(there.train.labels, here.train.labels)
    if drawn:
        np.testing.assert_array_equal(there.train.weights, here.train.weights)
    else:
        assert there.train.weights is None and here.train.weights is None
    ours, theirs = _streamed_rows(here.train), _train_rows(there.train)
    for name in theirs:
        np.testing.assert_array_equal(theirs[name], ours[name], err_msg=name)
    plain_here, plain_there = here.train.plain(), there.train.plain()  # the rows without any copies
    assert isinstance(plain_there, ClusterTrain) and len(plain_there.parts) == 3
    np.testing.assert_array_equal(plain_there.labels, plain_here.labels)


def test_cluster_features_are_computed_on_the_workers_as_here(
    client: Any, inputs: Path, tmp_path: Path
) -> None:
    from fraud_model.features import FEATURE_SETS

    here, _ = _splits(inputs, tmp_path, evasive_copies=1, evasive_weight=0.5)
    there, _ = _splits(inputs, tmp_path, client, evasive_copies=1, evasive_weight=0.5)
    feature_set = FEATURE_SETS["full"]
    x, y, w = ClusterFeatures(there.train, feature_set).collections()
    ours = np.concatenate([b[0] for b in prepare.train_data(here.train, feature_set).feature_batches()])
    x, y, w = client.gather(client.compute([x, y, w]))
    np.testing.assert_array_equal(x, ours)
    fetched = list(ClusterFeatures(there.train, feature_set).feature_batches())  # a partition at a time
    np.testing.assert_array_equal(np.concatenate([batch[0] for batch in fetched]), ours)
    np.testing.assert_array_equal(y, here.train.labels)
    np.testing.assert_array_equal(w, here.train.weights)


def test_cluster_load_reports_a_worker_s_bad_file_as_in_process(client: Any, tmp_path: Path) -> None:
    data = tmp_path / "no-amount.csv"
    data.write_text("step,type,oldbalanceOrg,newbalanceOrig,isFraud\n1,TRANSFER,10,0,0\n")
    settings = small_settings(data=[str(data)])
    with pytest.raises(DataQualityError) as here:
        prepare.load(settings, tmp_path)
    with pytest.raises(DataQualityError) as there:
        cluster_data.load(client, settings)
    assert str(there.value) == str(here.value) and "lacks required columns amount" in str(here.value)
