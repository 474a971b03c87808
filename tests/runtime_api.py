"""A local stand-in for the Lambda Runtime API, for the real runtime client (awslambdaric) to poll: in a
process on this machine (tests/lambda_handler) or in the built inference image (tests/images).

It also serves the Extensions API as Lambda documents it: extensions register while the function
initialises (refused, 403, once the runtime has asked for its first event), each receives an INVOKE event
when an invocation starts, and the next invocation is not handed to the runtime until every extension has
asked for its next event (the invocation is over). `finished` keeps when that happened for each invocation,
`answered_at` when its answer was posted."""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_PREFIX = "/2018-06-01/runtime"
_EXTENSIONS = "/2020-01-01/extension"
_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:fraud-inference"


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A runtime client stopped mid-poll (its process or container ended) is no error of the test's."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class RuntimeApi:
    """Serves queued events on `GET .../invocation/next` and collects `POST .../invocation/<id>/response`."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self.results: dict[str, dict[str, Any]] = {}
        self.answered = threading.Condition()
        self.answered_at: dict[str, float] = {}
        self.extensions: dict[str, str] = {}  # identifier -> name
        self.finished: dict[str, float] = {}  # request id -> when every extension had asked for more
        self._lifecycle = threading.Condition()
        self._current: str | None = None  # the invocation under way (its request id)
        self._started = 0  # invocations handed to the runtime
        self._waiting: set[str] = set()  # extensions that have asked for their next event
        self._seen: dict[str, int] = {}  # extension -> invocations it has been told of
        self._closing = False
        self._initialised = False
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path == f"{_EXTENSIONS}/event/next":
                    self._extension_next()
                    return
                if self.path != f"{_PREFIX}/invocation/next":
                    self._reply(404, b"{}")
                    return
                with api._lifecycle:  # the previous invocation is over once every extension asks for more
                    api._lifecycle.wait_for(lambda: api._closing or api._waiting >= set(api.extensions))
                    api._initialised = True
                queued = api.events.get()
                if queued is None:  # closing: release the runtime client's last long poll
                    self._reply(410, b"{}")
                    return
                request_id, event = queued
                with api._lifecycle:
                    api._current, api._started = request_id, api._started + 1
                    api._lifecycle.notify_all()
                self._reply(200, json.dumps(event).encode(), {
                    "Lambda-Runtime-Aws-Request-Id": request_id,
                    "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 30_000),
                    "Lambda-Runtime-Invoked-Function-Arn": _ARN,
                    "Lambda-Runtime-Trace-Id": "Root=1-6749a7e4-0b7a2f9c1d3e4f5a6b7c8d9e;Sampled=0",
                })  # fmt: skip

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == f"{_EXTENSIONS}/register":
                    self._register()
                    return
                parts = self.path[len(_PREFIX) :].strip("/").split("/")  # invocation/<id>/response|error
                if len(parts) == 3 and parts[0] == "invocation":
                    with api.answered:
                        api.answered_at[parts[1]] = time.monotonic()
                        api.results[parts[1]] = {"kind": parts[2], "body": json.loads(body or b"null")}
                        api.answered.notify_all()
                self._reply(202, b"{}")

            def _register(self) -> None:
                with api._lifecycle:
                    if api._initialised:  # Lambda: too late once the runtime has asked for an event
                        self._reply(403, b'{"errorType": "Extension.InvalidRegistration"}')
                        return
                    identifier = str(uuid.uuid4())
                    api.extensions[identifier] = self.headers.get("Lambda-Extension-Name", "")
                    api._seen[identifier] = 0
                self._reply(200, b"{}", {"Lambda-Extension-Identifier": identifier})

            def _extension_next(self) -> None:
                identifier = self.headers.get("Lambda-Extension-Identifier", "")
                with api._lifecycle:
                    if identifier not in api.extensions:
                        self._reply(403, b"{}")
                        return
                    api._waiting.add(identifier)
                    if api._current is not None and api._waiting >= set(api.extensions):
                        api.finished[api._current] = time.monotonic()
                    api._lifecycle.notify_all()
                    api._lifecycle.wait_for(lambda: api._closing or api._started > api._seen[identifier])
                    if api._closing:
                        self._reply(410, b"{}")
                        return
                    api._seen[identifier] = api._started
                    api._waiting.discard(identifier)
                    event = {"eventType": "INVOKE", "requestId": api._current, "invokedFunctionArn": _ARN,
                             "deadlineMs": int(time.time() * 1000) + 30_000}  # fmt: skip
                self._reply(200, json.dumps(event).encode())

            def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def close(self) -> None:
        with self._lifecycle:
            self._closing = True
            self._lifecycle.notify_all()
        self.events.put(None)
        self.server.shutdown()
        self.server.server_close()

    def wait_finished(self, request_id: str, timeout: float = 30.0) -> None:
        """Until the invocation is over: every extension has asked for its next event after it."""
        with self._lifecycle:
            if not self._lifecycle.wait_for(lambda: request_id in self.finished, timeout=timeout):
                raise TimeoutError("the extensions did not finish the invocation")

    def invoke(self, event: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        request_id = str(uuid.uuid4())
        self.events.put((request_id, event))
        with self.answered:
            if not self.answered.wait_for(lambda: request_id in self.results, timeout=timeout):
                raise TimeoutError("the runtime client did not answer")
            return self.results[request_id]
