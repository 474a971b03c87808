"""The image table is what the Dockerfiles build: their default bases; each context holds one image."""

from __future__ import annotations

import re

import pytest

from infra import assets


@pytest.mark.parametrize("image", assets.IMAGES, ids=lambda image: image.name)
def test_assets_dockerfile_default_base_is_the_checked_base(image: assets.Image) -> None:
    dockerfile = (assets.REPO_ROOT / image.dockerfile).read_text()
    defaults = re.findall(r"^ARG BASE_IMAGE=(\S+)$", dockerfile, flags=re.MULTILINE)
    assert defaults == [image.base.image]


@pytest.mark.parametrize("image", assets.IMAGES, ids=lambda image: image.name)
def test_assets_dockerfile_installs_only_hashed_binary_wheels(image: assets.Image) -> None:
    """A package without a wheel for the base fails the build by name instead of compiling from source."""
    dockerfile = (assets.REPO_ROOT / image.dockerfile).read_text().replace("\\\n", " ")
    commands = [c for line in dockerfile.splitlines() for c in line.split("&&") if "pip install" in c]
    from_lock = [c for c in commands if " -r " in c]
    assert all("--only-binary=:all:" in c and "--require-hashes" in c for c in from_lock)
    assert any(image.requirements.split("/")[1] in c for c in from_lock)


def test_assets_each_context_leaves_out_the_other_image() -> None:
    assert {"training_job", "requirements/train.txt"} <= set(assets.excludes(assets.INFERENCE))
    assert {"lambda_handler", "requirements/serve.txt"} <= set(assets.excludes(assets.TRAINING))
    assert "requirements/serve.txt" not in assets.excludes(assets.INFERENCE)
