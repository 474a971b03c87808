"""The container's decision policy and its lists: loaded on first use, re-read at most every
`pointer_ttl_seconds` (a new policy, and list changes, are picked up within it), never failing a request.

A policy that fails to load keeps the last good one; with none ever loaded, the default policy serves (the
model's own verdict), so every answer carries a decision.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fraud_model import policy_store
from fraud_model.errors import FraudError
from fraud_model.policy import DEFAULT_POLICY, Policy, compile_policy
from fraud_model.store import Store, open_store
from lambda_handler import observability
from lambda_handler.config import Settings, get_settings
from lambda_handler.process_wide import ProcessWide


@dataclass(frozen=True)
class ActivePolicy:
    version: str
    policy: Policy
    document: dict[str, object]
    lists: dict[str, frozenset[str]]


DEFAULT = ActivePolicy(policy_store.DEFAULT_VERSION, compile_policy(DEFAULT_POLICY), DEFAULT_POLICY, {})


class PolicyCache:
    def __init__(
        self,
        settings: Settings,
        *,
        store_factory: Callable[[str], Store] = open_store,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings, self._store_factory, self._clock = settings, store_factory, clock
        self._store: Store | None = None
        self._lock = threading.Lock()
        self._active = DEFAULT
        self._next_check = float("-inf")

    def get(self) -> ActivePolicy:
        active = self._active
        if self._clock() < self._next_check:
            return active
        with self._lock:
            now = self._clock()
            if now >= self._next_check:
                self._refresh()
                self._next_check = now + self._settings.pointer_ttl_seconds
            return self._active

    def _refresh(self) -> None:
        current = self._active
        version: str | None = None
        try:
            if self._store is None:
                self._store = self._store_factory(self._settings.model_store)
            version = policy_store.read_policy_pointer(self._store)
            if version == current.version:
                policy, document = current.policy, current.document
            else:
                policy, document = policy_store.load_policy(self._store, version)
            lists = policy_store.read_lists(self._store, policy.lists)
            self._active = ActivePolicy(version, policy, document, lists)
        except FraudError as exc:  # the store's, the artifact's and the policy's own errors
            observability.policy_load_failed(version, exc, serving=current.version)
        except Exception as exc:  # a bug, not a bad file: logged as such, handled the same way
            observability.policy_load_failed(version, exc, serving=current.version, unexpected=True)


_cache = ProcessWide(lambda: PolicyCache(get_settings()))


def get_policy_cache() -> PolicyCache:
    return _cache.get()


def reset() -> None:
    _cache.reset()
