"""Files are found (local, directory, s3 object or prefix), streamed in batches and fingerprinted."""

from __future__ import annotations

import hashlib
from pathlib import Path

import boto3
import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from fraud_model.errors import InputError
from training_job.dataset import load_dataset
from training_job.load import DataFile, read_batches, resolve
from training_job.validate import TRAIN_COLUMNS


@pytest.fixture(scope="module")
def parquet_copy(paysim_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("parquet") / "small.parquet"
    pq.write_table(pacsv.read_csv(paysim_csv), path)
    return path


def test_resolve_expands_a_directory_into_its_data_files(tmp_path: Path) -> None:
    for name in ("b.csv.gz", "a.csv", "c.parquet", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [Path(f.uri).name for f in resolve([str(tmp_path)])] == ["a.csv", "b.csv.gz", "c.parquet"]


def test_resolve_refuses_a_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        resolve([str(tmp_path / "missing.csv")])


def test_read_batches_never_parses_the_account_name_columns(paysim_csv: Path) -> None:
    (file,) = resolve([str(paysim_csv)])
    batch = next(iter(read_batches(file, TRAIN_COLUMNS)))
    assert set(batch.schema.names) == set(TRAIN_COLUMNS)


def test_read_batches_fingerprints_the_file_bytes(paysim_csv: Path) -> None:
    (file,) = resolve([str(paysim_csv)])
    for _ in read_batches(file, TRAIN_COLUMNS):
        pass
    assert file.sha256 == hashlib.sha256(paysim_csv.read_bytes()).hexdigest()


def test_csv_gz_and_parquet_load_to_the_same_columns(paysim_csv: Path, parquet_copy: Path) -> None:
    from_csv, _ = load_dataset([str(paysim_csv)])
    from_parquet, _ = load_dataset([str(parquet_copy)])
    for name in TRAIN_COLUMNS:
        np.testing.assert_array_equal(from_csv.columns[name], from_parquet.columns[name])


def test_s3_prefix_resolves_to_the_data_files_under_it(paysim_csv: Path, aws_env: None) -> None:
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="data")
        for key in ("in/a.csv.gz", "in/sub/b.csv.gz", "in/README.md", "other/c.csv.gz"):
            s3.put_object(Bucket="data", Key=key, Body=paysim_csv.read_bytes())
        assert [f.uri for f in resolve(["s3://data/in"])] == [
            "s3://data/in/a.csv.gz",
            "s3://data/in/sub/b.csv.gz",
        ]


def test_s3_object_loads_like_the_local_file(paysim_csv: Path, aws_env: None) -> None:
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="data")
        boto3.client("s3").put_object(Bucket="data", Key="small.csv.gz", Body=paysim_csv.read_bytes())
        remote, _ = load_dataset(["s3://data/small.csv.gz"])
    local, _ = load_dataset([str(paysim_csv)])
    np.testing.assert_array_equal(remote.columns["amount"], local.columns["amount"])
    assert remote.sources[0]["sha256"] == local.sources[0]["sha256"] and remote.sources[0]["etag"]


def test_load_dataset_tags_each_row_with_its_source(paysim_csv: Path, parquet_copy: Path) -> None:
    dataset, _ = load_dataset([str(paysim_csv), str(parquet_copy)])
    assert np.bincount(dataset.source).tolist() == [len(dataset) // 2] * 2
    assert [s["uri"] for s in dataset.sources] == [str(paysim_csv), str(parquet_copy)]


def test_data_file_kind_follows_the_suffix() -> None:
    assert (DataFile("x.parquet", 0).kind, DataFile("s3://b/x.csv.gz", 0).gzip) == ("parquet", True)
