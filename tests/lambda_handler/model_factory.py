"""Model versions for the API tests: one tiny real model per session (tests.factory), copied per test.

Copying a verified version under a new id takes milliseconds, so hot-reload tests can publish a second
version without training again; `tamper` and `point_at` make the broken stores the cache must survive.
"""

from __future__ import annotations

import json

from fraud_model import artifact, constants
from fraud_model.store import LocalStore, Store
from tests.factory import publish_tiny_version


def train_reference(store: LocalStore) -> str:
    """Train and publish the reference version (xgboost, 30 rounds, depth 4, both feature sets)."""
    return publish_tiny_version(store, rounds=30, band=0.9)


def copy_version(
    source: Store, version: str, target: Store, *, threshold: float | None = None, make_current: bool = True
) -> str:
    """Publish `version` of `source` into `target` under a new id (optionally with another threshold)."""
    loaded = artifact.load_version(source, version)
    files = {name: data for name, data in loaded.files.items() if name != constants.METADATA_FILE}
    models = {
        name: spec.model_copy(update={"threshold": threshold} if threshold is not None else {})
        for name, spec in loaded.metadata.models.items()
    }
    metadata = loaded.metadata.model_copy(update={"version": artifact.new_version_id(), "models": models})
    return artifact.publish(target, metadata, files, make_current=make_current)


def tamper(store: Store, version: str, name: str) -> None:
    """Change one byte of a published file: its sha256 no longer matches the manifest."""
    key = f"{artifact.version_prefix(version)}/{name}"
    data = bytearray(store.read(key))
    data[len(data) // 2] ^= 0xFF
    store.write(key, bytes(data))


def point_at(store: Store, version: str) -> None:
    """Move the current-version pointer without verifying the version (as a broken promote would)."""
    store.write(constants.CURRENT_POINTER, json.dumps({"version": version}).encode())
