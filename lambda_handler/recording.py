"""Where the API's decision records go: off the request path, never failing a request.

- `StoreRecorder` (`fraud serve`, the embedded default): chunks kept in memory, written by a background
  thread as Parquet parts under `records/date=…/` every `FRAUD_RECORDS_FLUSH_SECONDS` (or sooner when many
  rows wait), and when the process exits.
- `LogRecorder` (Lambda): a Lambda freezes once it answers, so nothing runs in the background there; each
  chunk is one JSON line on stdout (CloudWatch Logs), which a subscription filter delivers to the same
  prefix (infra), adding no network call to the answer.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from fraud_model import records
from fraud_model.store import Store, open_store
from lambda_handler import observability
from lambda_handler.config import Settings, get_settings

_LOG_ROWS = 400  # rows a log line: CloudWatch Logs cuts an event at 256 KB (~350 bytes a row)


class Recorder(Protocol):
    active: bool  # False: records are off, and callers need not build any

    def add(self, chunk: records.Chunk) -> None: ...

    def flush(self) -> None: ...


class NullRecorder:
    active = False

    def add(self, chunk: records.Chunk) -> None:
        pass

    def flush(self) -> None:
        pass


class StoreRecorder:
    """Parquet parts in the store, written by a background thread."""

    active = True

    def __init__(
        self, store: Store, names: records.Names, *, interval: float, max_rows: int = 100_000
    ) -> None:
        self.store, self.names, self.interval, self.max_rows = store, names, interval, max_rows
        self._pending: list[records.Chunk] = []
        self._rows = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="fraud-records", daemon=True)
        self._thread.start()
        # The flush at exit may import it: where pandas is installed (the train extra has it, for Dask),
        # pyarrow's pandas shim imports pandas on first use, and pandas this, which fails once shutdown began.
        import concurrent.futures.thread  # noqa: F401

        atexit.register(self.close)

    def add(self, chunk: records.Chunk) -> None:
        with self._lock:
            self._pending.append(chunk)
            self._rows += len(chunk)
            if self._rows >= self.max_rows:
                self._wake.set()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        """Write what waits, one part a day; a part that fails to write is kept for the next flush."""
        with self._lock:
            chunks, self._pending, self._rows = self._pending, [], 0
        if not chunks:
            return
        days: dict[str, list[records.Chunk]] = {}
        for chunk in chunks:
            days.setdefault(records.partition(chunk.received_at), []).append(chunk)
        for prefix, group in days.items():
            try:
                self._write(prefix, group)
            except Exception as exc:  # a store outage: the rows wait for the next flush
                observability.logger.warning(
                    "decision records not written yet",
                    extra={"rows": sum(map(len, group)), "error": str(exc)},
                )
                with self._lock:
                    self._pending[:0] = group
                    self._rows += sum(map(len, group))

    def _write(self, prefix: str, chunks: list[records.Chunk]) -> None:
        import io

        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        pq.write_table(records.to_table(chunks, self.names), buffer, compression="zstd")
        stamp = chunks[0].received_at.strftime("%H%M%S%f")
        self.store.write(f"{prefix}/part-{stamp}-{uuid.uuid4().hex[:12]}.parquet", buffer.getvalue())

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._wake.set()
            self._thread.join(timeout=30)
            self.flush()


class LogRecorder:
    """Each chunk as JSON lines (at most `_LOG_ROWS` rows a line), written to stdout together at the end of
    the invocation (`end_invocation`, one write with the metrics' flush), or when many wait."""

    active = True

    def __init__(self, names: records.Names, write: Callable[[str], Any] | None = None) -> None:
        self.names, self._write = names, write
        self._pending: list[bytes] = []

    def add(self, chunk: records.Chunk) -> None:
        self._pending += records.log_line(chunk, self.names, rows=_LOG_ROWS)
        if len(self._pending) >= 64:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            lines, self._pending = self._pending, []
            (self._write or sys.stdout.write)(b"\n".join(lines).decode() + "\n")

    def end_invocation(self) -> None:
        self.flush()


def build(settings: Settings, *, store_factory: Callable[[str], Store] = open_store) -> Recorder:
    names = records.Names(settings.record_names, _secret(settings))
    mode = settings.records or ("log" if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") else "store")
    if mode == "off":
        return NullRecorder()
    if names.mode == "omit" and settings.record_names == "hash":
        observability.logger.warning("FRAUD_RECORD_NAME_KEY is not set: account names are not recorded")
    if mode == "store":
        try:
            import pyarrow.parquet  # noqa: F401 - Parquet parts need it; the function's image has none
        except ImportError:
            observability.logger.warning("pyarrow is not installed: decision records go to the log")
            mode = "log"
    if mode == "log":
        return LogRecorder(names)
    return StoreRecorder(store_factory(settings.model_store), names, interval=settings.records_flush_seconds)


def _secret(settings: Settings) -> str | None:
    return settings.record_name_key.get_secret_value() if settings.record_name_key else None


_recorder: Recorder | None = None
_lock = threading.Lock()


def get_recorder() -> Recorder:
    global _recorder
    if _recorder is None:
        with _lock:
            if _recorder is None:
                _recorder = build(get_settings())
    return _recorder


def end_invocation() -> None:
    """The Lambda handler's last step: a log recorder writes its lines (a store recorder has its thread)."""
    if isinstance(_recorder, LogRecorder):
        _recorder.end_invocation()


def reset() -> None:
    """Flush and forget the recorder (tests; `fraud serve` before it reads the settings again)."""
    global _recorder
    with _lock:
        if isinstance(_recorder, StoreRecorder):
            _recorder.close()
        _recorder = None
