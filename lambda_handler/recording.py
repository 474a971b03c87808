"""Where the API's decision records go: off the request path, never failing a request.

- `StoreRecorder` (`fraud serve`, the embedded default): chunks kept in memory, written by a background
  thread as Parquet parts under `records/date=…/` every `FRAUD_RECORDS_FLUSH_SECONDS` (or sooner when many
  rows wait), and when the process exits.
- `LogRecorder` (Lambda): a Lambda freezes once it answers, so nothing runs in the background there; each
  chunk is JSON lines on stdout (CloudWatch Logs), which a subscription filter delivers to the same prefix
  (infra), adding no network call to the answer. On Lambda the lines are formatted and written after the
  answer has been posted, by an internal extension (`after_response`), inside the invocation: the caller
  does not wait for them, and none is lost once answered. Elsewhere they are written before the handler
  returns.
"""

from __future__ import annotations

import atexit
import functools
import os
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from fraud_model import records
from fraud_model.store import Store, open_store
from lambda_handler import observability
from lambda_handler.after_response import AfterResponse
from lambda_handler.config import Settings, get_settings
from lambda_handler.process_wide import ProcessWide

_LOG_ROWS = 400  # rows a log line: CloudWatch Logs cuts an event at 256 KB (~350 bytes a row)
# A request's records, built when they are written (off the request path): it must only read values that
# do not change after the answer.
Build = Callable[[], records.Chunk]


class Recorder(Protocol):
    active: bool  # False: records are off, and callers need not build any

    def add(self, build: Build, rows: int) -> None: ...

    def flush(self) -> None: ...


class NullRecorder:
    active = False

    def add(self, build: Build, rows: int) -> None:
        pass

    def flush(self) -> None:
        pass


class StoreRecorder:
    """Parquet parts in the store, written by a background thread."""

    active = True

    def __init__(
        self,
        store: Store,
        names: records.Names,
        *,
        interval: float,
        max_rows: int = 100_000,
        max_waiting_rows: int = 100_000,
    ) -> None:
        self.store, self.names, self.interval, self.max_rows = store, names, interval, max_rows
        self.max_waiting_rows = max_waiting_rows
        self.dropped = 0  # rows given up after a long store outage (logged, counted)
        self._pending: list[Build] = []
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

    def add(self, build: Build, rows: int) -> None:
        with self._lock:
            self._pending.append(build)
            self._rows += rows
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
            builds, self._pending, self._rows = self._pending, [], 0
        if not builds:
            return
        days: dict[str, list[records.Chunk]] = {}
        for chunk in _built(builds):
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
                    self._pending[:0] = [functools.partial(_same, chunk) for chunk in group]
                    self._rows += sum(map(len, group))
                    self._bound(group)

    def _bound(self, failed: list[records.Chunk]) -> None:
        """While the store stays down, records wait in memory up to `max_waiting_rows`; beyond, the oldest
        of those that failed are given up, counted and logged (memory must not grow for hours)."""
        given_up = 0
        while failed and self._rows > self.max_waiting_rows:
            chunk = failed.pop(0)
            self._pending.pop(0)  # the failed chunks were put back first, oldest first
            self._rows -= len(chunk)
            given_up += len(chunk)
        if given_up:
            self.dropped += given_up
            observability.logger.error(
                "decision records given up: the store has refused them for too long",
                extra={"rows": given_up, "dropped_total": self.dropped, "waiting": self._rows},
            )

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
    """Each chunk as JSON lines (at most `_LOG_ROWS` rows a line), formatted and written together at the
    end of the invocation (`end_invocation`: after the answer where an extension runs it), or when many
    chunks wait."""

    active = True

    def __init__(self, names: records.Names, write: Callable[[str], Any] | None = None) -> None:
        self.names, self._write = names, write
        self._pending: list[Build] = []

    def add(self, build: Build, rows: int) -> None:
        self._pending.append(build)
        if len(self._pending) >= 64:
            self.flush()

    def flush(self) -> None:
        self.take()()

    def take(self) -> Callable[[], None]:
        """The work of writing what waits (nothing waits after this call)."""
        builds, self._pending = self._pending, []
        return functools.partial(self._lines, builds) if builds else _nothing

    def _lines(self, builds: list[Build]) -> None:
        chunks = _built(builds)
        lines = [line for chunk in chunks for line in records.log_line(chunk, self.names, rows=_LOG_ROWS)]
        if not lines:
            return
        if self._write is not None:
            self._write(b"\n".join(lines).decode() + "\n")
            return
        sys.stdout.write(b"\n".join(lines).decode() + "\n")
        sys.stdout.flush()  # a pipe on Lambda: nothing may wait in a buffer while the environment is frozen


def _nothing() -> None:
    pass


def _same(chunk: records.Chunk) -> records.Chunk:
    return chunk


def _built(builds: list[Build]) -> list[records.Chunk]:
    """The chunks; one that cannot be built (a defect, never the data: every value was validated) is
    reported and skipped so that the others are written."""
    chunks = []
    for build in builds:
        try:
            chunks.append(build())
        except Exception:
            observability.logger.exception("a decision record could not be built")
    return chunks


def build(settings: Settings, *, store_factory: Callable[[str], Store] = open_store) -> Recorder:
    names = records.Names(settings.record_names, _secret(settings))
    mode = _mode(settings)
    if mode == "off":
        return NullRecorder()
    if names.mode == "omit" and settings.record_names == "hash":
        observability.logger.warning("no name key (FRAUD_RECORD_NAME_KEY or FRAUD_RECORD_NAME_KEY_SECRET): "
                                     "account names are not recorded")  # fmt: skip
    if mode == "store":
        try:
            import pyarrow.parquet  # noqa: F401 - Parquet parts need it; the function's image has none
        except ImportError:
            observability.logger.warning("pyarrow is not installed: decision records go to the log")
            mode = "log"
    if mode == "log":
        return LogRecorder(names)
    return StoreRecorder(store_factory(settings.model_store), names, interval=settings.records_flush_seconds,
                         max_waiting_rows=settings.records_max_waiting_rows)  # fmt: skip


def _mode(settings: Settings) -> str:
    return settings.records or ("log" if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") else "store")


def _secret(settings: Settings) -> str | None:
    """The name key: given, or read from Secrets Manager (once: the recorder keeps it). A secret that cannot
    be read leaves names out of the records and is logged; it never fails a request."""
    if settings.record_name_key is not None:
        return settings.record_name_key.get_secret_value()
    if settings.record_name_key_secret is None:
        return None
    import boto3

    try:
        value = boto3.client("secretsmanager").get_secret_value(SecretId=settings.record_name_key_secret)
    except Exception as exc:  # botocore's errors (permissions, network, a deleted secret)
        problem = f"cannot be read ({exc})"
    else:
        key = value.get("SecretString") or ""
        if len(key) >= _MIN_KEY_CHARS:
            return str(key)
        problem = "is shorter than 16 characters"
    observability.logger.warning(f"the name key's secret {problem}: names are not recorded",
                                 extra={"secret": settings.record_name_key_secret})  # fmt: skip
    return None


_MIN_KEY_CHARS = 16


_recorder: ProcessWide[Recorder] = ProcessWide(
    lambda: build(get_settings()), close=lambda r: r.close() if isinstance(r, StoreRecorder) else None
)
_after: AfterResponse | None = None


def start_on_lambda() -> None:
    """On Lambda: with log records, register the extension that writes them after each answer, and build
    the recorder. Called while the function initialises (the handler module's import): Lambda refuses a
    registration after that, and the first request then finds the name key read."""
    global _after
    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not address or _after is not None:
        return
    try:
        settings = get_settings()
    except ValueError:  # invalid settings: the first request reports them
        return
    if _mode(settings) == "log" and settings.records_after_response:
        _after = AfterResponse.register(address)
    get_recorder()  # now, while initialising: the name key's secret is read before the first request


def get_recorder() -> Recorder:
    return _recorder.get()


def end_invocation() -> None:
    """The Lambda handler's last step: a log recorder's lines are written, after the answer where the
    extension runs (it is handed exactly one piece of work an invocation), else now. A store recorder has
    its own thread."""
    recorder = _recorder.peek()
    work = recorder.take() if isinstance(recorder, LogRecorder) else _nothing
    if _after is not None:
        _after.submit(work)
    else:
        work()


def reset() -> None:
    """Flush and forget the recorder (tests; `fraud serve` before it reads the settings again)."""
    _recorder.reset()
