"""The artifact format: `models/<version>/` holds native model files, forest exports, `metadata.json`
and `manifest.json` (sha256 of every file); `models/CURRENT` names the current version and is written last.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fraud_model import constants
from fraud_model.errors import ArtifactError, NotFoundError
from fraud_model.schema import SCHEMA_VERSION
from fraud_model.store import Store

_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
Library = Literal["xgboost", "lightgbm"]


class EvasionModel(BaseModel):
    """A feature set's evasion model (trained with evasive copies of the frauds): it may lift a score into
    the band under the threshold, never over it (`Metadata.evasion_band`, fraud_model.scorer)."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    library: Library
    native_file: str
    forest_file: str
    logit_offset: float = 0.0


class FeatureSetModel(BaseModel):
    """The champion model of one feature set, and how it was chosen."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    feature_set: str
    features: list[str]
    inputs: list[str]
    library: Library
    native_file: str  # XGBoost UBJSON or LightGBM text
    forest_file: str  # fraud_model.forest export of the same trees
    threshold: float  # on fraud_probability (natural-rate calibrated)
    logit_offset: float = 0.0  # added to the margin: prior correction from the training mix to live traffic
    metrics: dict[str, dict[str, Any]] = {}  # per library (champion and challenger): holdout metrics
    evasion: EvasionModel | None = None  # absent in versions published before the evasion band

    def files(self) -> tuple[str, ...]:
        """The files this model is made of: native and forest, then the evasion model's."""
        extra = (self.evasion.native_file, self.evasion.forest_file) if self.evasion else ()
        return (self.native_file, self.forest_file, *extra)


class Metadata(BaseModel):
    """`metadata.json` of one model version."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    schema_version: int
    version: str
    created_at: str
    models: dict[str, FeatureSetModel]  # by feature set name, in order of preference
    threshold_policy: dict[str, Any] = {}
    # c: served p = max(shipped, e * top / (top + e)), e the evasion model's, top = c * threshold; 0 = no band
    evasion_band: float = Field(default=0.0, ge=0, lt=1)
    library_versions: dict[str, str] = {}
    data: list[dict[str, Any]] = []  # fingerprints of the training inputs
    params: dict[str, Any] = {}
    git_commit: str | None = None


@dataclass(frozen=True)
class LoadedVersion:
    """A verified model version: its metadata and the bytes of every file in its manifest."""

    metadata: Metadata
    files: dict[str, bytes]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_version_id(now: datetime | None = None) -> str:
    """Sortable by time (to the millisecond), unique across publishers: `20261129T102100123Z-3f9a1c`."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def _check_version(version: str) -> str:
    if not _VERSION_RE.fullmatch(version):
        raise ArtifactError(f"invalid model version {version!r}")
    return version


def version_prefix(version: str) -> str:
    return f"{constants.MODELS_PREFIX}/{_check_version(version)}"


def publish(store: Store, metadata: Metadata, files: dict[str, bytes], *, make_current: bool = True) -> str:
    """Write every file, then the manifest, verify them by reading back, then (optionally) move the pointer.

    Any failure raises before the pointer moves, so readers keep the previous version.
    """
    version = _check_version(metadata.version)
    if metadata.schema_version != SCHEMA_VERSION:
        raise ArtifactError(f"metadata schema_version {metadata.schema_version} is not {SCHEMA_VERSION}")
    reserved = {constants.METADATA_FILE, constants.MANIFEST_FILE}
    if reserved & files.keys():
        raise ArtifactError(f"{sorted(reserved & files.keys())} are written by publish itself")
    for model in metadata.models.values():
        for name in model.files():
            if name not in files:
                raise ArtifactError(f"metadata names {name} but it is not among the files to publish")
    everything = {**files, constants.METADATA_FILE: metadata.model_dump_json(indent=2).encode()}
    prefix = version_prefix(version)
    for name, data in everything.items():
        store.write(f"{prefix}/{name}", data)
    manifest = {
        "version": version,
        "files": {name: sha256(data) for name, data in sorted(everything.items())},
    }
    store.write(f"{prefix}/{constants.MANIFEST_FILE}", json.dumps(manifest, indent=2).encode())
    load_version(store, version)  # read everything back: what we point at must verify
    if make_current:
        promote(store, version)
    return version


def load_version(store: Store, version: str) -> LoadedVersion:
    """Read and verify one version: every manifest file's sha256, the metadata, the schema version."""
    prefix = version_prefix(version)
    try:
        manifest = json.loads(store.read(f"{prefix}/{constants.MANIFEST_FILE}"))
        expected: dict[str, str] = dict(manifest["files"])
    except NotFoundError as exc:
        raise ArtifactError(f"model version {version} has no manifest (missing or incomplete)") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"model version {version} has an unreadable manifest") from exc
    files: dict[str, bytes] = {}
    for name, digest in expected.items():
        try:
            data = store.read(f"{prefix}/{name}")
        except NotFoundError as exc:
            raise ArtifactError(f"model version {version} is missing {name}") from exc
        if sha256(data) != digest:
            raise ArtifactError(
                f"model version {version}: {name} does not match its sha256 (tampered or corrupt)"
            )
        files[name] = data
    try:
        metadata = Metadata.model_validate_json(files[constants.METADATA_FILE])
    except (KeyError, ValidationError) as exc:
        raise ArtifactError(f"model version {version} has no valid {constants.METADATA_FILE}") from exc
    if metadata.schema_version != SCHEMA_VERSION:
        raise ArtifactError(
            f"model version {version} has schema version {metadata.schema_version}; this code reads "
            f"{SCHEMA_VERSION}"
        )
    if metadata.version != version:
        raise ArtifactError(f"model version {version} carries metadata of version {metadata.version}")
    return LoadedVersion(metadata=metadata, files=files)


def read_pointer(store: Store) -> str:
    """The current version's id; NotFoundError when nothing has been published yet."""
    try:
        return pointed_version(store, constants.CURRENT_POINTER)
    except NotFoundError as exc:
        raise NotFoundError(
            f"no current model in {store.uri} ({constants.CURRENT_POINTER} not found): run `fraud train`"
        ) from exc


def promote(store: Store, version: str) -> None:
    """Make `version` current, after loading it completely: every sha256, and every file parsed into the
    model it holds (forests probed, native boosters loaded), so the pointer never names what cannot serve."""
    from fraud_model.scorer import Scorer  # the scorer builds on this module

    Scorer(load_version(store, version)).verify_native()
    write_pointer(store, constants.CURRENT_POINTER, version)


def list_versions(store: Store) -> list[str]:
    """Versions that have a manifest (complete publishes), oldest first."""
    return published_versions(store, constants.MODELS_PREFIX)


# Pointers and versions, for models (models/) and decision policies (policies/) alike.


def pointed_version(store: Store, pointer_key: str) -> str:
    """The version a pointer names; NotFoundError when it does not exist, ArtifactError when unreadable."""
    try:
        pointer = json.loads(store.read(pointer_key))
        return _check_version(str(pointer["version"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"unreadable pointer {pointer_key} in {store.uri}") from exc


def write_pointer(store: Store, pointer_key: str, version: str) -> None:
    """Point at `version` (call only once it has been loaded completely)."""
    pointer = {"version": version, "promoted_at": datetime.now(UTC).isoformat(timespec="seconds")}
    store.write(pointer_key, json.dumps(pointer).encode())


def published_versions(store: Store, prefix: str) -> list[str]:
    """The versions under `prefix` that have a manifest (complete publishes), oldest first."""
    suffix = f"/{constants.MANIFEST_FILE}"
    return sorted(
        key[len(prefix) + 1 : -len(suffix)]
        for key in store.list(prefix)
        if key.startswith(f"{prefix}/") and key.endswith(suffix) and key.count("/") == 2
    )
