"""The resolution check: each image's locked requirements install as binary wheels on every base and
architecture the stack can deploy it on, and a base that cannot take them is named with the package."""

from __future__ import annotations

import pytest

from infra import assets, wheels

LOCKED = wheels.locked_wheels()


@pytest.mark.parametrize("arch", assets.ARCHITECTURES)
@pytest.mark.parametrize("image", assets.IMAGES, ids=lambda image: image.name)
def test_wheels_every_locked_requirement_has_a_wheel_for_the_base(image: assets.Image, arch: str) -> None:
    target = wheels.Target(image.base.python, image.base.glibc, arch)
    assert wheels.missing_wheels(assets.REPO_ROOT / image.requirements, target, LOCKED) == []


def test_wheels_amazon_linux_2_base_is_refused_naming_the_packages() -> None:
    """The inference image's former base, public.ecr.aws/lambda/python:3.11 (glibc 2.26), cannot build it."""
    target = wheels.Target(python=(3, 11), glibc=(2, 26), arch="x86_64")
    problems = wheels.missing_wheels(assets.REPO_ROOT / assets.INFERENCE.requirements, target, LOCKED)
    named = {problem.split()[0] for problem in problems}
    assert {"lightgbm", "xgboost-cpu", "numpy"} <= named
    assert any("manylinux_2_28_x86_64" in problem for problem in problems)


def test_wheels_target_accepts_older_manylinux_and_pure_wheels() -> None:
    tags = {str(tag) for tag in wheels.Target(python=(3, 13), glibc=(2, 34), arch="aarch64").tags()}
    assert {"cp313-cp313-manylinux_2_17_aarch64", "cp313-cp313-manylinux2014_aarch64", "py3-none-any",
            "cp313-abi3-manylinux_2_28_aarch64"} <= tags  # fmt: skip
    assert "cp313-cp313-manylinux_2_35_aarch64" not in tags
    assert "cp313-cp313-manylinux_2_17_x86_64" not in tags


def test_wheels_main_reports_every_image_and_architecture(capsys: pytest.CaptureFixture[str]) -> None:
    assert wheels.main() == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(assets.IMAGES) * len(assets.ARCHITECTURES)
    assert all(line.endswith(": OK") for line in lines)
