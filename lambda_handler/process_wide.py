"""One lazily built instance per process (the model cache, the policy cache, the decision recorder): built
from the settings on first use, under a lock so that concurrent first requests build it once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ProcessWide(Generic[T]):
    def __init__(self, build: Callable[[], T], *, close: Callable[[T], None] | None = None) -> None:
        self._build, self._close = build, close
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
                value = self._value
        return value

    def peek(self) -> T | None:
        """The instance if one was built (nothing is built)."""
        return self._value

    def replace(self, value: T | None) -> None:
        """Use `value` from now on (benchmarks switch recorders; None: build again on next use)."""
        with self._lock:
            self._value = value

    def reset(self) -> None:
        """Forget the instance (closed first, where it has to be): the next use builds a new one."""
        with self._lock:
            value, self._value = self._value, None
            if value is not None and self._close is not None:
                self._close(value)
