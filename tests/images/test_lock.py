"""One lock for both images: the exports in requirements/ are uv.lock's, and the project builds with the
backend they pin."""

from __future__ import annotations

import tomllib

import pytest
from packaging.requirements import Requirement

from infra import assets, lock, wheels


@pytest.mark.parametrize("path", sorted(lock.EXPORTS))
def test_lock_export_is_current(path: str) -> None:
    assert (assets.REPO_ROOT / path).read_text() == lock.export(path), f"{path} is stale: run `make lock`"


def test_lock_images_share_every_common_version() -> None:
    serve, train = (
        {r.name: str(r.specifier) for r in wheels.requirements(assets.REPO_ROOT / image.requirements)}
        for image in (assets.INFERENCE, assets.TRAINING)
    )
    common = serve.keys() & train.keys()
    assert {"numpy", "xgboost-cpu", "lightgbm", "pydantic"} <= common
    assert {name: serve[name] for name in common} == {name: train[name] for name in common}


def test_lock_build_backend_reads_the_spdx_license() -> None:
    """`license = "Apache-2.0"` (a string) needs setuptools 77 or later, in pyproject and in the images."""
    pyproject = tomllib.loads((assets.REPO_ROOT / "pyproject.toml").read_text())
    assert isinstance(pyproject["project"]["license"], str)
    (backend,) = [Requirement(r) for r in pyproject["build-system"]["requires"] if r.startswith("setuptools")]
    assert not backend.specifier.contains("76.9") and backend.specifier.contains("77.0")
    (pinned,) = wheels.requirements(assets.REPO_ROOT / "requirements/build.txt")
    assert backend.specifier.contains(next(iter(pinned.specifier)).version)
