"""Work that runs on Lambda after the answer has gone: an internal extension (Lambda's Extensions API).

A function's handler returns, the runtime client posts the answer, and only then does Lambda wait for every
registered extension to ask for the next event before it freezes the environment. A thread of this process
registered as an internal extension (`register`, while the function initialises: Lambda refuses one once the
runtime has asked for its first event) is handed each invocation's remaining work by the handler (`submit`,
in its `finally`), runs it in that window, and then asks for the next event. The caller never waits for it;
the invocation's billed duration includes it (CloudWatch: `PostRuntimeExtensionsDuration`). The runtime
client releases the GIL while it waits for the next event, so the thread has the interpreter to itself.

Without a Runtime API (`fraud serve`, tests, benchmarks), or where Lambda refuses the registration, nothing
registers and callers do the work themselves before they return (`recording.LogRecorder`).
"""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from lambda_handler import observability

EXTENSIONS_API = "2020-01-01/extension"
NAME = "fraud-decision-records"
_REGISTER_TIMEOUT_SECONDS = 2.0
_SPARE_SECONDS = 0.05  # a submission not made this close to the deadline is not waited for


class AfterResponse:
    """An internal extension: `submit` once per invocation; the work runs after the answer is posted."""

    def __init__(self, address: str, identifier: str) -> None:
        self.address, self.identifier = address, identifier
        self._work: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=NAME, daemon=True)
        self._thread.start()

    @classmethod
    def register(cls, address: str) -> AfterResponse | None:
        """Register with the Extensions API at `address` (AWS_LAMBDA_RUNTIME_API); None when it refuses."""
        request = urllib.request.Request(  # noqa: S310 - the Runtime API's own address
            f"http://{address}/{EXTENSIONS_API}/register", data=json.dumps({"events": ["INVOKE"]}).encode(),
            headers={"Lambda-Extension-Name": NAME, "Content-Type": "application/json"}, method="POST",
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=_REGISTER_TIMEOUT_SECONDS) as response:  # noqa: S310
                identifier = response.headers.get("Lambda-Extension-Identifier")
        except OSError as exc:  # refused (or no Extensions API): the work is done before answering
            reason = f"extension registration failed: {exc}"
            observability.logger.warning(
                "decision records are written before answering", extra={"reason": reason}
            )
            return None
        if not identifier:
            return None
        return cls(address, identifier)

    def submit(self, work: Callable[[], None]) -> None:
        """This invocation's remaining work (exactly one submission per invocation)."""
        self._work.put(work)

    def _loop(self) -> None:
        while True:
            try:
                event = self._next()
            except Exception as exc:  # the Runtime API is gone: the environment is ending
                observability.logger.warning("after-response extension stopped", extra={"error": str(exc)})
                return
            if event.get("eventType") != "INVOKE":
                continue
            deadline = float(event.get("deadlineMs", 0)) / 1000
            try:  # the handler submits in its `finally`; never wait past the invocation's deadline
                work = self._work.get(timeout=max(deadline - time.time() - _SPARE_SECONDS, 0.001))
            except queue.Empty:
                continue  # the invocation ended without reaching the handler (or timed out)
            run(work)
            while not self._work.empty():  # a late submission of an earlier invocation: done now
                run(self._work.get_nowait())

    def _next(self) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310
            f"http://{self.address}/{EXTENSIONS_API}/event/next",
            headers={"Lambda-Extension-Identifier": self.identifier},
        )
        with urllib.request.urlopen(request) as response:  # noqa: S310 - blocks until the next event, by design
            event: dict[str, Any] = json.loads(response.read())
        return event


def run(work: Callable[[], None]) -> None:
    """One invocation's work; its failure is logged, never raised (Lambda waits for this thread)."""
    try:
        work()
    except Exception:  # never leave Lambda waiting for this thread
        observability.logger.exception("after-response work failed")
