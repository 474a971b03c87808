"""`fraud serve`: the same app under uvicorn, over real HTTP, including clients that misbehave."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fraud_model.store import LocalStore
from tests.lambda_handler import model_factory
from tests.lambda_handler.gateway_events import SEED


@dataclass
class Server:
    port: int
    log: Path

    def lines(self) -> list[dict[str, object]]:
        """The server's JSON log lines so far."""
        found = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                found.append(json.loads(line))
        return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, reference: tuple[LocalStore, str]) -> Iterator[Server]:
    store = LocalStore(tmp_path_factory.mktemp("local-store"))
    model_factory.copy_version(*reference, store)
    port = _free_port()
    script = "from lambda_handler.local import serve\n" + (
        f"serve(host='127.0.0.1', port={port}, store_uri={store.uri!r})"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUD_")}
    env["FRAUD_BODY_TIMEOUT_SECONDS"] = "1"
    log = tmp_path_factory.mktemp("local-log") / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=output, stderr=output)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise
                    time.sleep(0.1)
            yield Server(port, log)
        finally:
            process.terminate()
            process.wait(timeout=10)


def _partial_request(port: int, declared: int, sent: bytes) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (f"POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            f"Content-Length: {declared}\r\nX-Request-Id: {sent.hex()[:12] or 'empty'}\r\n\r\n")  # fmt: skip
    connection.sendall(head.encode() + sent)
    return connection


def test_local_serve_answers_over_http(server: Server) -> None:
    response = httpx.post(f"http://127.0.0.1:{server.port}/predict", json=SEED,
                          headers={"X-Request-Id": "local-test-1"}, timeout=10)  # fmt: skip
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "local-test-1"
    assert isinstance(response.json()["is_fraud"], bool)


def test_local_serve_client_gone_mid_body_is_no_server_error(server: Server) -> None:
    connection = _partial_request(server.port, 100, b'{"amount": 1')
    time.sleep(0.2)
    connection.close()
    time.sleep(0.5)
    request_id = b'{"amount": 1'.hex()[:12]
    logged = server.lines()
    (line,) = [
        line for line in logged if line.get("message") == "request" and line["request_id"] == request_id
    ]
    assert not any(line.get("ServerErrors") for line in logged)  # the EMF metrics
    assert line["status"] == 499 and line["error_code"] == "client_closed_request"


def test_local_serve_body_that_never_finishes_is_answered_408(server: Server) -> None:
    started = time.monotonic()
    answer = b""
    with _partial_request(server.port, 100, b'{"amount": 2') as connection:
        while b"}}" not in answer:  # the end of the error body (it may come in its own packet)
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408")
    assert b'"code":"request_timeout"' in answer
    assert time.monotonic() - started < 8  # the 1 s limit, not a hung connection
