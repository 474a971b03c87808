"""The handler under the real Lambda runtime client (awslambdaric), against a local Runtime API stand-in."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fraud_model import constants
from fraud_model.store import LocalStore
from tests.lambda_handler import model_factory
from tests.lambda_handler.gateway_events import body_of, http_api
from tests.runtime_api import RuntimeApi


@pytest.fixture(scope="module")
def runtime(
    tmp_path_factory: pytest.TempPathFactory, reference: tuple[LocalStore, str]
) -> Iterator[RuntimeApi]:
    store = LocalStore(tmp_path_factory.mktemp("runtime-store"))
    model_factory.copy_version(*reference, store)
    api = RuntimeApi()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(constants.ENV_PREFIX)},
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": "fraud-inference",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        constants.MODEL_STORE_ENV: store.uri,
    }
    log = (tmp_path_factory.mktemp("runtime-log") / "runtime.log").open("wb")
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "awslambdaric", "lambda_handler.handler.handler"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield api
    finally:
        process.terminate()
        process.wait(timeout=10)
        api.close()
        log.close()


def test_runtime_serves_predict_through_awslambdaric(runtime: RuntimeApi) -> None:
    result = runtime.invoke(http_api())
    assert result["kind"] == "response"
    assert result["body"]["statusCode"] == 200
    assert isinstance(body_of(result["body"])["is_fraud"], bool)


def test_runtime_serves_errors_in_the_error_shape(runtime: RuntimeApi) -> None:
    result = runtime.invoke(http_api(path="/nope"))
    assert result["body"]["statusCode"] == 404
    assert body_of(result["body"])["error"]["code"] == "not_found"
