"""Docker build contexts: both images build from the repository root (pyproject.toml, fraud_model/)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TRAINING_DOCKERFILE = "training_job/Dockerfile"
LAMBDA_DOCKERFILE = "lambda_handler/Dockerfile"

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
)


def excludes_without(other_deployable: str) -> list[str]:
    """Excludes for one image: leaving out the other deployable's folder keeps its changes from re-hashing
    this image (a new training image replaces the training instance)."""
    return [*_ALWAYS_EXCLUDED, other_deployable]
