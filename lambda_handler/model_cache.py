"""The container's model: loaded on first use (never at import), verified, kept for the container's life.

The pointer is re-read at most every `pointer_ttl_seconds`; a failed load keeps the last good model, and
with none, requests get 503 until a later request (at most every `load_retry_seconds`) loads one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fraud_model import artifact
from fraud_model.errors import FraudError, NotFoundError, StoreError
from fraud_model.scorer import Scorer
from fraud_model.store import Store, open_store
from lambda_handler import observability
from lambda_handler.config import Settings, get_settings
from lambda_handler.errors import ModelUnavailableError
from lambda_handler.process_wide import ProcessWide


class ModelCache:
    """Holds at most one verified Scorer; `get()` is the only way requests reach it."""

    def __init__(
        self,
        settings: Settings,
        *,
        store_factory: Callable[[str], Store] = open_store,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._store_factory = store_factory
        self._store: Store | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._scorer: Scorer | None = None
        self._next_check = float("-inf")
        self._failure: str | None = None  # why the last load failed, while no model is serving

    @property
    def scorer(self) -> Scorer | None:
        """The model serving now, without any I/O."""
        return self._scorer

    def get(self) -> Scorer:
        """The current model, loading or re-pointing it when due; ModelUnavailableError when there is none."""
        scorer = self._scorer
        if scorer is not None and self._clock() < self._next_check:
            return scorer
        with self._lock:
            now = self._clock()
            if now >= self._next_check:
                self._refresh(now)
            if self._scorer is None:
                raise ModelUnavailableError(self._failure or "no model is loaded")
            return self._scorer

    def _refresh(self, now: float) -> None:
        serving = self._scorer.version if self._scorer else None
        version: str | None = self._settings.model_version
        try:
            if self._store is None:
                self._store = self._store_factory(self._settings.model_store)
            if version is None:
                version = artifact.read_pointer(self._store)
            if version != serving:
                started = time.perf_counter()
                scorer = Scorer(artifact.load_version(self._store, version))
                self._scorer, self._failure = scorer, None
                observability.model_loaded(version, previous=serving, seconds=time.perf_counter() - started,
                                           feature_sets=scorer.feature_sets)  # fmt: skip
        except FraudError as exc:  # the store's and the artifact's own errors: every load path raises these
            observability.model_load_failed(version, exc, serving=serving)
            self._failure = _client_reason(exc)
        except Exception as exc:  # a bug, not a bad file: logged as such, handled the same way
            observability.model_load_failed(version, exc, serving=serving, unexpected=True)
            self._failure = _client_reason(exc)
        pinned_and_loaded = self._settings.model_version is not None and self._scorer is not None
        if pinned_and_loaded:
            self._next_check = float("inf")  # a pinned version never changes
        elif self._scorer is not None:
            self._next_check = now + self._settings.pointer_ttl_seconds
        else:
            self._next_check = now + self._settings.load_retry_seconds


def _client_reason(error: Exception) -> str:
    """What a client may learn about a failed load: the kind of failure, never store names or keys."""
    if isinstance(error, NotFoundError):
        return "no model has been published yet"
    if isinstance(error, StoreError):
        return "the model store cannot be read right now"
    return "the current model version failed verification"


_cache = ProcessWide(lambda: ModelCache(get_settings()))


def get_model_cache() -> ModelCache:
    """The process-wide cache, built from the settings on first use."""
    return _cache.get()


def reset() -> None:
    """Forget the cached model and settings (tests, and `lambda_handler.local.serve` with a new store)."""
    _cache.reset()
    get_settings.cache_clear()
