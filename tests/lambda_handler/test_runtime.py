"""The handler under the real Lambda runtime client (awslambdaric), against a local Runtime API stand-in."""

from __future__ import annotations

import json
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

SEED_ROW = {"amount": 112.0, "oldbalanceOrg": 100.0, "newbalanceOrig": 0.0, "nameOrig": "C123"}


runtime_log: dict[int, Path] = {}


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
        "FRAUD_RECORD_NAME_KEY": "the-operators-secret-key",
    }
    log_path = tmp_path_factory.mktemp("runtime-log") / "runtime.log"
    runtime_log[id(api)] = log_path
    log = log_path.open("wb")
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


def test_runtime_writes_each_decision_record_after_posting_the_answer(runtime: RuntimeApi) -> None:
    """On Lambda the records' log lines are formatted and written by an internal extension after the answer
    is posted, and before the invocation ends (Lambda waits for it): the caller does not wait, and every
    answered transaction has its line before the next invocation starts."""
    from fraud_model import records
    from lambda_handler.after_response import NAME

    assert list(runtime.extensions.values()) == [NAME]
    single = runtime.invoke(http_api())
    batch = runtime.invoke(http_api(path="/predict/batch", body={"transactions": [SEED_ROW] * 3}))
    assert single["body"]["statusCode"] == batch["body"]["statusCode"] == 200
    for request_id in list(runtime.results)[-2:]:
        runtime.wait_finished(request_id)
        assert runtime.answered_at[request_id] <= runtime.finished[request_id]
    lines = [json.loads(line) for line in runtime_log[id(runtime)].read_text().splitlines()
             if line.startswith(f'{{"record":"{records.LOG_MARKER}"')]  # fmt: skip
    answers = [body_of(single["body"])["fraud_probability"]] + [
        p["fraud_probability"] for p in body_of(batch["body"])["predictions"]
    ]
    assert [p for line in lines[-2:] for p in line["fraud_probability"]] == answers
    assert [line["source"] for line in lines[-2:]] == ["predict", "batch"]
    assert lines[-1]["nameOrig"] != [SEED_ROW["nameOrig"]] * 3  # hashed with the operator's key
