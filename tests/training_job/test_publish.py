"""What training publishes: native formats, complete metadata, all-or-nothing with the pointer moved last."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fraud_model import artifact, constants
from fraud_model.errors import ArtifactError, StoreError
from fraud_model.forest import Forest
from fraud_model.store import LocalStore
from tests.factory import FailingStore
from training_job import pipeline
from training_job.publish import build_version, git_commit, publish_version


def _copy_store(trained: pipeline.Outcome, tmp_path: Path) -> Path:
    return Path(shutil.copytree(trained.store_uri, tmp_path / "store"))


def _next_version(trained: pipeline.Outcome, version: str) -> tuple[artifact.Metadata, dict[str, bytes]]:
    m = trained.metadata
    return build_version(
        version,
        trained.results,
        threshold_policy=m.threshold_policy,
        data=m.data,
        params=m.params,
        git_commit=m.git_commit,
    )


def test_tampered_model_file_is_refused_by_the_loader(trained: pipeline.Outcome, tmp_path: Path) -> None:
    root = _copy_store(trained, tmp_path)
    native = root / constants.MODELS_PREFIX / trained.version / trained.metadata.models["full"].native_file
    data = bytearray(native.read_bytes())
    data[len(data) // 2] ^= 0x01
    native.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="does not match its sha256"):
        artifact.load_version(LocalStore(root), trained.version)


@pytest.mark.parametrize("fail_on", [1, 3, 6])
def test_pointer_stays_when_publishing_fails_midway(
    trained: pipeline.Outcome, tmp_path: Path, fail_on: int
) -> None:
    store = FailingStore(_copy_store(trained, tmp_path), fail_on)
    metadata, files = _next_version(trained, "20990101T000000Z-000000")
    with pytest.raises(StoreError, match="simulated failure"):
        publish_version(store, metadata, files, promote=True)
    assert artifact.read_pointer(store) == trained.version
    assert artifact.list_versions(store) == [trained.version]


def test_no_promote_publishes_without_moving_the_pointer(trained: pipeline.Outcome, tmp_path: Path) -> None:
    store = LocalStore(_copy_store(trained, tmp_path))
    metadata, files = _next_version(trained, "20990101T000000Z-000001")
    publish_version(store, metadata, files, promote=False)
    assert artifact.read_pointer(store) == trained.version
    assert artifact.list_versions(store) == [trained.version, "20990101T000000Z-000001"]


def test_published_files_are_native_formats_and_never_pickles(trained: pipeline.Outcome) -> None:
    loaded = artifact.load_version(LocalStore(trained.store_uri), trained.version)
    for model in loaded.metadata.models.values():
        assert model.native_file.endswith({"xgboost": ".ubj", "lightgbm": ".txt"}[model.library])
        Forest.from_bytes(loaded.files[model.forest_file])  # np.load(allow_pickle=False)
    assert not any(data.startswith(b"\x80") for data in loaded.files.values())  # no pickle protocol header


def test_metadata_records_versions_fingerprints_parameters_and_commit(trained: pipeline.Outcome) -> None:
    metadata = trained.metadata
    assert {"xgboost", "lightgbm", "numpy", "python"} <= metadata.library_versions.keys()
    assert metadata.data[0]["sha256"] and metadata.data[0]["rows"] == 40_000
    assert metadata.params["max_rounds"] == 25 and metadata.git_commit == "test-commit"
    assert metadata.threshold_policy["name"] == "max_recall_at_precision"


def test_git_commit_prefers_the_configured_value() -> None:
    assert git_commit("abc123") == "abc123"
