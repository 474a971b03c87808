"""Publishing is all-or-nothing and loading verifies every byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fraud_model import artifact, constants
from fraud_model.errors import ArtifactError, NotFoundError, StoreError
from fraud_model.store import LocalStore
from tests.factory import FailingStore, publish_tiny_version


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalStore, str]:
    store = LocalStore(tmp_path_factory.mktemp("store"))
    return store, publish_tiny_version(store, rounds=5)


def _copy(published: tuple[LocalStore, str], tmp_path: Path) -> tuple[LocalStore, str]:
    import shutil

    shutil.copytree(published[0].root, tmp_path / "copy")
    return LocalStore(tmp_path / "copy"), published[1]


def test_publish_makes_the_version_current(published: tuple[LocalStore, str]) -> None:
    store, version = published
    assert artifact.read_pointer(store) == version


def test_load_version_returns_every_manifest_file(published: tuple[LocalStore, str]) -> None:
    store, version = published
    loaded = artifact.load_version(store, version)
    assert {"full.forest.npz", "origin.forest.npz", constants.METADATA_FILE} <= loaded.files.keys()
    assert loaded.metadata.version == version


def test_load_version_refuses_a_tampered_file(published: tuple[LocalStore, str], tmp_path: Path) -> None:
    store, version = _copy(published, tmp_path)
    path = store.root / "models" / version / "full.forest.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="full.forest.npz does not match its sha256"):
        artifact.load_version(store, version)


def test_load_version_refuses_a_missing_file(published: tuple[LocalStore, str], tmp_path: Path) -> None:
    store, version = _copy(published, tmp_path)
    (store.root / "models" / version / "origin.forest.npz").unlink()
    with pytest.raises(ArtifactError, match="missing origin.forest.npz"):
        artifact.load_version(store, version)


def test_load_version_without_manifest_is_incomplete(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.write("models/v1/metadata.json", b"{}")
    with pytest.raises(ArtifactError, match="no manifest"):
        artifact.load_version(store, "v1")


def test_load_version_refuses_another_schema_version(
    published: tuple[LocalStore, str], tmp_path: Path
) -> None:
    store, version = _copy(published, tmp_path)
    prefix = f"models/{version}"
    metadata = json.loads(store.read(f"{prefix}/metadata.json"))
    metadata["schema_version"] = 999
    data = json.dumps(metadata).encode()
    store.write(f"{prefix}/metadata.json", data)
    manifest = json.loads(store.read(f"{prefix}/manifest.json"))
    manifest["files"]["metadata.json"] = artifact.sha256(data)
    store.write(f"{prefix}/manifest.json", json.dumps(manifest).encode())
    with pytest.raises(ArtifactError, match="schema version 999"):
        artifact.load_version(store, version)


@pytest.mark.parametrize("fail_at", [1, 3, 6])
def test_publish_failing_midway_leaves_the_pointer(published: tuple[LocalStore, str], tmp_path: Path,
                                                    fail_at: int) -> None:  # fmt: skip
    good, version = _copy(published, tmp_path)
    failing = FailingStore(good.root, fail_at)
    with pytest.raises(StoreError, match="simulated failure"):
        publish_tiny_version(failing, rounds=2, seed=1)
    assert artifact.read_pointer(good) == version
    assert artifact.list_versions(good) == [version]


def test_promote_rolls_back_to_an_older_version(published: tuple[LocalStore, str], tmp_path: Path) -> None:
    store, first = _copy(published, tmp_path)
    second = publish_tiny_version(store, rounds=2, seed=2)
    assert artifact.read_pointer(store) == second
    artifact.promote(store, first)
    assert artifact.read_pointer(store) == first
    assert artifact.list_versions(store) == sorted([first, second])


def test_promote_refuses_an_unknown_version(published: tuple[LocalStore, str]) -> None:
    with pytest.raises(ArtifactError, match="no manifest"):
        artifact.promote(published[0], "20000101T000000Z-000000")


def test_read_pointer_on_an_empty_store_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        artifact.read_pointer(LocalStore(tmp_path))


@pytest.mark.parametrize("version", ["../etc", "a/b", "", "x" * 200])
def test_version_ids_cannot_escape_the_models_prefix(version: str) -> None:
    with pytest.raises(ArtifactError, match="invalid model version"):
        artifact.version_prefix(version)


def test_publish_refuses_an_evasion_model_without_its_files(
    published: tuple[LocalStore, str], tmp_path: Path
) -> None:
    store, version = published
    metadata = artifact.load_version(store, version).metadata.model_copy(deep=True)
    metadata.version = "with-evasion"
    metadata.models["full"].evasion = artifact.EvasionModel(
        library="xgboost", native_file="full.evasion.ubj", forest_file="full.evasion.forest.npz"
    )
    files = dict(artifact.load_version(store, version).files)
    del files[constants.METADATA_FILE]
    with pytest.raises(ArtifactError, match="full.evasion.ubj"):
        artifact.publish(LocalStore(tmp_path), metadata, files)


def test_metadata_refuses_a_band_at_or_over_the_threshold(published: tuple[LocalStore, str]) -> None:
    raw = artifact.load_version(*published).metadata.model_dump()
    with pytest.raises(ValueError, match="less than 1"):
        artifact.Metadata.model_validate({**raw, "evasion_band": 1.0})
