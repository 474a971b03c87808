"""Both stores behave alike: read what was written, list by prefix, refuse what they cannot do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from fraud_model.errors import NotFoundError, StoreError
from fraud_model.store import LocalStore, S3Store, Store, open_store


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path, aws_env: None) -> Iterator[Store]:
    if request.param == "local":
        yield LocalStore(tmp_path)
        return
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="models-bucket")
        yield open_store("s3://models-bucket/team")


def test_store_reads_what_it_wrote(store: Store) -> None:
    store.write("models/v1/a.bin", b"\x00\x01")
    assert store.read("models/v1/a.bin") == b"\x00\x01"


def test_store_lists_by_prefix(store: Store) -> None:
    for key in ("models/v1/a", "models/v2/b", "reports/v1/r"):
        store.write(key, b"x")
    assert store.list("models") == ["models/v1/a", "models/v2/b"]


def test_store_missing_key_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="models/none not found"):
        store.read("models/none")


def test_store_delete_removes_the_key(store: Store) -> None:
    store.write("k", b"x")
    store.delete("k")
    with pytest.raises(NotFoundError):
        store.read("k")


def test_local_store_refuses_keys_outside_its_root(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="escapes the store root"):
        LocalStore(tmp_path / "root").write("../outside", b"x")


def test_local_store_overwrite_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.write("models/CURRENT", b"1")
    store.write("models/CURRENT", b"2")
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["CURRENT"]


def test_local_store_files_are_readable_by_other_users(tmp_path: Path) -> None:
    """A server running as another user (the inference image, a service account) reads what training wrote."""
    LocalStore(tmp_path).write("models/v1/metadata.json", b"{}")
    mode = (tmp_path / "models/v1/metadata.json").stat().st_mode
    assert mode & 0o044 == 0o044  # under the usual umask 022; mkstemp alone gives 0600


def test_s3_store_missing_bucket_is_a_store_error(aws_env: None) -> None:
    with mock_aws(), pytest.raises(StoreError, match="cannot read"):
        S3Store("no-such-bucket").read("models/CURRENT")


def test_open_store_parses_s3_uris() -> None:
    store = open_store("s3://bucket/a/b/")
    assert isinstance(store, S3Store) and (store.bucket, store.prefix) == ("bucket", "a/b")


def test_open_store_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FRAUD_MODEL_STORE", str(tmp_path))
    assert open_store().uri == str(tmp_path)


def test_open_store_refuses_unknown_schemes() -> None:
    with pytest.raises(StoreError, match="unsupported store URI"):
        open_store("gs://bucket")
