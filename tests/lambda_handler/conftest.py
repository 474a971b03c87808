"""Fixtures of the inference API tests: a tiny real model per session, a store per test, clean state."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fraud_model import constants
from fraud_model.store import LocalStore
from lambda_handler import model_cache, observability, policy_cache, recording
from lambda_handler.handler import get_adapter
from tests.lambda_handler import model_factory
from tests.lambda_handler.gateway_events import Context


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalStore, str]:
    """The reference model version (tiny, real, both feature sets), trained once per session."""
    store = LocalStore(tmp_path_factory.mktemp("reference"))
    return store, model_factory.train_reference(store)


@pytest.fixture(autouse=True)
def clean_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No FRAUD_* variable leaks in; settings, model cache, app and metrics start empty in every test."""
    for name in list(os.environ):
        if name.startswith(constants.ENV_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FRAUD_LOAD_RETRY_SECONDS", "0")
    _reset()
    yield
    _reset()


def _reset() -> None:
    model_cache.reset()
    policy_cache.reset()
    recording.reset()
    get_adapter.cache_clear()
    observability.clear()


@pytest.fixture
def store(tmp_path: Path, reference: tuple[LocalStore, str], monkeypatch: pytest.MonkeyPatch) -> LocalStore:
    """A store of this test's own holding one current version (a copy of the reference), served by the API."""
    target = LocalStore(tmp_path / "store")
    model_factory.copy_version(*reference, target)
    monkeypatch.setenv(constants.MODEL_STORE_ENV, target.uri)
    return target


@pytest.fixture
def empty_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalStore:
    """A store with nothing published yet, served by the API."""
    target = LocalStore(tmp_path / "empty")
    monkeypatch.setenv(constants.MODEL_STORE_ENV, target.uri)
    return target


@pytest.fixture
def context() -> Context:
    return Context()
