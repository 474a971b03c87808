"""Shared fixtures: small generated PaySim files and one small real training run per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from training_job import pipeline
from training_job.config import TrainSettings
from training_job.generator import generate, write_csv

ROWS = 40_000
FRAUD_RATE = 0.01  # enriched so that every time split of a small file holds a few dozen frauds


def small_settings(**overrides: Any) -> TrainSettings:
    """Few shallow boosting rounds on one thread, no plots or bars: a real run in a couple of seconds."""
    base: dict[str, Any] = {
        "max_rounds": 25,
        "early_stopping_rounds": 5,
        "plots": False,
        "progress": False,
        "threads": 1,
        "verify_rows": 5_000,
        "git_commit": "test-commit",
    }
    return TrainSettings(**(base | overrides))


def without_fraud_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FRAUD_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's FRAUD_* variables must not change what the tests see."""
    without_fraud_env(monkeypatch)


@pytest.fixture(scope="session")
def paysim_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_csv(
        generate(ROWS, fraud_rate=FRAUD_RATE, seed=3), tmp_path_factory.mktemp("data") / "small.csv.gz"
    )


@pytest.fixture(scope="session")
def trained(paysim_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[pipeline.Outcome]:
    """One real training run (report plots included), published to a local store."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        without_fraud_env(monkeypatch)
        store = tmp_path_factory.mktemp("store")
        yield pipeline.run(small_settings(data=[str(paysim_csv)], model_store=str(store), plots=True))


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region for moto."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
