"""The model cache: lazy, verified, re-pointed at most every TTL, and never worse than its last good model."""

from __future__ import annotations

from typing import Any

import pytest

from fraud_model import artifact
from fraud_model.errors import StoreError
from fraud_model.store import LocalStore, Store
from lambda_handler.config import Settings
from lambda_handler.errors import ModelUnavailableError
from lambda_handler.model_cache import ModelCache
from tests.lambda_handler import model_factory


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FlakyStore:
    """Delegates to a store until told to fail, then raises StoreError like an S3 outage."""

    def __init__(self, store: Store) -> None:
        self.store, self.failing, self.reads = store, False, 0
        self.uri = store.uri

    def read(self, key: str) -> bytes:
        self.reads += 1
        if self.failing:
            raise StoreError("simulated outage")
        return self.store.read(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def _cache(store: Store, clock: Clock, **settings: Any) -> ModelCache:
    return ModelCache(
        Settings(model_store=store.uri, **settings), store_factory=lambda uri: store, clock=clock
    )


def test_model_cache_reads_nothing_before_the_first_get(store: LocalStore) -> None:
    flaky = FlakyStore(store)
    _cache(flaky, Clock())
    assert flaky.reads == 0


def test_model_cache_loads_the_current_version_on_first_get(store: LocalStore) -> None:
    assert _cache(store, Clock()).get().version == artifact.read_pointer(store)


def test_model_cache_keeps_its_version_within_the_ttl(store: LocalStore) -> None:
    clock = Clock()
    cache = _cache(store, clock, pointer_ttl_seconds=30)
    first = cache.get().version
    model_factory.copy_version(store, first, store)
    clock.now += 29
    assert cache.get().version == first


def test_model_cache_swaps_to_a_promoted_version_after_the_ttl(store: LocalStore) -> None:
    clock = Clock()
    cache = _cache(store, clock, pointer_ttl_seconds=30)
    promoted = model_factory.copy_version(store, cache.get().version, store)
    clock.now += 30
    assert cache.get().version == promoted


def test_model_cache_pinned_version_ignores_the_pointer(store: LocalStore) -> None:
    pinned = artifact.read_pointer(store)
    clock = Clock()
    cache = _cache(store, clock, model_version=pinned, pointer_ttl_seconds=0)
    cache.get()
    model_factory.copy_version(store, pinned, store)
    clock.now += 3600
    assert cache.get().version == pinned


def test_model_cache_tampered_version_keeps_the_last_good_model(store: LocalStore) -> None:
    clock = Clock()
    cache = _cache(store, clock, pointer_ttl_seconds=0)
    good = cache.get().version
    bad = model_factory.copy_version(store, good, store, make_current=False)
    model_factory.tamper(store, bad, "full.xgboost.ubj")
    model_factory.point_at(store, bad)
    clock.now += 1
    assert cache.get().version == good


def test_model_cache_missing_version_keeps_the_last_good_model(store: LocalStore) -> None:
    clock = Clock()
    cache = _cache(store, clock, pointer_ttl_seconds=0)
    good = cache.get().version
    model_factory.point_at(store, "20300101T000000Z-000000")
    clock.now += 1
    assert cache.get().version == good


def test_model_cache_store_outage_keeps_the_last_good_model(store: LocalStore) -> None:
    flaky, clock = FlakyStore(store), Clock()
    cache = _cache(flaky, clock, pointer_ttl_seconds=0)
    good = cache.get().version
    flaky.failing = True
    clock.now += 1
    assert cache.get().version == good


def test_model_cache_without_a_model_raises_unavailable(empty_store: LocalStore) -> None:
    with pytest.raises(ModelUnavailableError, match="no model has been published yet"):
        _cache(empty_store, Clock()).get()


def test_model_cache_outage_without_a_model_says_the_store_is_unreadable(store: LocalStore) -> None:
    flaky = FlakyStore(store)
    flaky.failing = True
    with pytest.raises(ModelUnavailableError, match="cannot be read"):
        _cache(flaky, Clock()).get()


def test_model_cache_retries_after_the_retry_interval(
    empty_store: LocalStore, reference: tuple[LocalStore, str]
) -> None:
    clock = Clock()
    cache = _cache(empty_store, clock, load_retry_seconds=5)
    with pytest.raises(ModelUnavailableError):
        cache.get()
    published = model_factory.copy_version(*reference, empty_store)
    clock.now += 5
    assert cache.get().version == published


def test_model_cache_does_not_retry_within_the_retry_interval(store: LocalStore) -> None:
    flaky, clock = FlakyStore(store), Clock()
    flaky.failing = True
    cache = _cache(flaky, clock, load_retry_seconds=5)
    with pytest.raises(ModelUnavailableError):
        cache.get()
    reads = flaky.reads
    clock.now += 4
    with pytest.raises(ModelUnavailableError):
        cache.get()
    assert flaky.reads == reads
