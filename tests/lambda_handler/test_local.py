"""`fraud serve`: the same app under uvicorn, over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from fraud_model.store import LocalStore
from tests.lambda_handler.gateway_events import SEED


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_local_serve_answers_over_http(store: LocalStore, tmp_path: Path) -> None:
    port = _free_port()
    script = "from lambda_handler.local import serve\n" + (
        f"serve(host='127.0.0.1', port={port}, store_uri={store.uri!r})"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUD_")}
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    client.get("/health")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise
                    time.sleep(0.1)
            response = client.post("/predict", json=SEED, headers={"X-Request-Id": "local-test-1"})
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "local-test-1"
    assert isinstance(response.json()["is_fraud"], bool)
