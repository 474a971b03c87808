"""A local stand-in for the Lambda Runtime API, for the real runtime client (awslambdaric) to poll: in a
process on this machine (tests/lambda_handler) or in the built inference image (tests/images)."""

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
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path != f"{_PREFIX}/invocation/next":
                    self._reply(404, b"{}")
                    return
                queued = api.events.get()
                if queued is None:  # closing: release the runtime client's last long poll
                    self._reply(410, b"{}")
                    return
                request_id, event = queued
                self._reply(200, json.dumps(event).encode(), {
                    "Lambda-Runtime-Aws-Request-Id": request_id,
                    "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 30_000),
                    "Lambda-Runtime-Invoked-Function-Arn": _ARN,
                    "Lambda-Runtime-Trace-Id": "Root=1-6749a7e4-0b7a2f9c1d3e4f5a6b7c8d9e;Sampled=0",
                })  # fmt: skip

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                parts = self.path[len(_PREFIX) :].strip("/").split("/")  # invocation/<id>/response|error
                if len(parts) == 3 and parts[0] == "invocation":
                    with api.answered:
                        api.results[parts[1]] = {"kind": parts[2], "body": json.loads(body or b"null")}
                        api.answered.notify_all()
                self._reply(202, b"{}")

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
        self.events.put(None)
        self.server.shutdown()
        self.server.server_close()

    def invoke(self, event: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        request_id = str(uuid.uuid4())
        self.events.put((request_id, event))
        with self.answered:
            if not self.answered.wait_for(lambda: request_id in self.results, timeout=timeout):
                raise TimeoutError("the runtime client did not answer")
            return self.results[request_id]
