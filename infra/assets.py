"""The two images the stack deploys: their Dockerfiles, locked requirements and real bases (each base's Python
and glibc decide which wheels install), and the Docker build context both share: the repository root.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Both architectures the stack offers: lambdaArchitecture for the function, the instance type for training.
ARCHITECTURES = ("x86_64", "aarch64")


@dataclass(frozen=True)
class Base:
    """A base image: the Dockerfile's default `BASE_IMAGE`, and what pip on it accepts."""

    image: str
    python: tuple[int, int]
    glibc: tuple[int, int]


@dataclass(frozen=True)
class Image:
    name: str
    dockerfile: str
    requirements: str  # exported from uv.lock by `make lock`
    base: Base
    folder: str  # the deployable's package: the other image leaves it out of its context


INFERENCE = Image(
    name="inference",
    dockerfile="lambda_handler/Dockerfile",
    requirements="requirements/serve.txt",
    base=Base("public.ecr.aws/lambda/python:3.13", python=(3, 13), glibc=(2, 34)),  # Amazon Linux 2023
    folder="lambda_handler",
)
TRAINING = Image(
    name="training",
    dockerfile="training_job/Dockerfile",
    requirements="requirements/train.txt",
    base=Base("python:3.13-slim", python=(3, 13), glibc=(2, 41)),  # Debian 13
    folder="training_job",
)
IMAGES = (INFERENCE, TRAINING)

# Staging copies the context into cdk.out and hashes it: keep it to the sources an image installs.
_ALWAYS_EXCLUDED = (
    ".*",  # .git, .venv, tool caches, CI settings
    "node_modules",
    "cdk.out",
    "model_store",
    "tests",
    "benchmarks",
    "docs",
    "infra",
    "build",
    "*.egg-info",
    "**/__pycache__",
    "**/*.so",  # in-place builds for this machine: each image compiles its own, for its architecture
    "cdk.json",
    "cdk.context.json",
    "package.json",
    "package-lock.json",
    "Makefile",
    "uv.lock",  # the images install its exports in requirements/
    "requirements/lambda-runtime.txt",
)


def excludes(image: Image) -> list[str]:
    """Excludes for one image: leaving out the other deployable's folder and requirements keeps their changes
    from re-hashing this image (a new training image replaces the training instance)."""
    others = [other for other in IMAGES if other != image]
    return [*_ALWAYS_EXCLUDED, *(o.folder for o in others), *(o.requirements for o in others)]
