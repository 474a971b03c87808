"""Both images built and run per architecture this machine can run (arm64 under QEMU where binfmt_misc has
it). Skipped, with the reason, when no container engine is reachable, except in CI, where `.ci/run` starts
one and requires them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra import assets
from tests.images import containers
from tests.images import engine as engine_module
from tests.images.engine import Engine

REQUIRED_ENV = "FRAUD_IMAGE_TESTS_REQUIRED"
TRAIN_ROWS = 20_000


@dataclass(frozen=True)
class TrainedStore:
    """A store on this machine with one version per library, each trained by the training image."""

    path: Path
    versions: dict[str, str]  # library -> version


@pytest.fixture(scope="session")
def engine() -> Engine:
    found, reason = engine_module.find()
    if found is None:
        if os.environ.get(REQUIRED_ENV) == "1":
            pytest.fail(f"{reason} ({REQUIRED_ENV}=1: the image tests must run)")
        pytest.skip(reason)
    return found


_BUILDS: dict[str, containers.Built] = {}


def _build(engine: Engine, arch: str) -> containers.Built:
    if arch not in _BUILDS:
        _BUILDS[arch] = containers.build(engine, arch)
    return _BUILDS[arch]


@pytest.fixture(scope="session", params=assets.ARCHITECTURES)
def built(request: pytest.FixtureRequest, engine: Engine) -> containers.Built:
    arch: str = request.param
    if arch not in engine.architectures():
        pytest.skip(f"{arch} images: this machine cannot run them (no QEMU registered in binfmt_misc)")
    return _build(engine, arch)


@pytest.fixture(scope="session")
def trained(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> TrainedStore:
    """Trained by this machine's own training image; the artifacts serve on either architecture (each
    architecture's training image is run on its own by the tests, on less data: emulation is slow)."""
    native = _build(engine, engine.architectures()[0])
    store = tmp_path_factory.mktemp("image-store")
    versions = {
        library: containers.train(engine, native.training, store, rows=TRAIN_ROWS, library=library)
        for library in ("xgboost", "lightgbm")
    }
    return TrainedStore(store, versions)
