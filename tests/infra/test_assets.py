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
def test_assets_dockerfile_installs_its_requirements_for_its_glibc(image: assets.Image) -> None:
    dockerfile = (assets.REPO_ROOT / image.dockerfile).read_text()
    assert re.findall(r"^ARG GLIBC_MINOR=(\d+)$", dockerfile, flags=re.MULTILINE) == [
        str(image.base.glibc[1])
    ]
    assert f"install-wheels.sh /tmp/{image.requirements}" in dockerfile


def test_assets_wheels_are_binary_and_hashed_only() -> None:
    """A package without a wheel for the base fails the build by name instead of compiling from source."""
    script = (assets.REPO_ROOT / "requirements/install-wheels.sh").read_text()
    (install,) = [line for line in script.replace("\\\n", " ").splitlines() if "pip install" in line]
    assert "--only-binary=:all:" in install and "--require-hashes" in install


def test_assets_each_context_leaves_out_the_other_image() -> None:
    assert {"training_job", "requirements/train.txt"} <= set(assets.excludes(assets.INFERENCE))
    assert {"lambda_handler", "requirements/serve.txt"} <= set(assets.excludes(assets.TRAINING))
    assert "requirements/serve.txt" not in assets.excludes(assets.INFERENCE)
