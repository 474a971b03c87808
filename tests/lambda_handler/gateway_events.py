"""API Gateway events for the tests: the fixtures in tests/events/, and variations built from them."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[1] / "events"
SEED = {"amount": 112.00, "oldbalanceOrg": 100.00, "newbalanceOrig": 0.00}
FULL = {
    "type": "TRANSFER", "amount": 181000.0, "oldbalanceOrg": 181000.0, "newbalanceOrig": 0.0,
    "oldbalanceDest": 0.0, "newbalanceDest": 0.0, "step": 1, "nameOrig": "C1305486145",
    "nameDest": "C553264065",
}  # fmt: skip


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def http_api(
    method: str = "POST",
    path: str = "/predict",
    body: Any = SEED,
    *,
    stage: str = "prod",
    headers: dict[str, str] | None = None,
    query: str = "",
    raw_body: str | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event; `body` is sent as JSON unless `raw_body` is given (None: no body)."""
    event = load("http_api_v2_predict.json")
    full = path if stage == "$default" else f"/{stage}{path}"
    event["rawPath"] = full
    event["rawQueryString"] = query
    event["requestContext"]["stage"] = stage
    event["requestContext"]["http"].update(method=method, path=full)
    if headers is not None:
        event["headers"] = {**{k: v for k, v in event["headers"].items() if k != "content-type"}, **headers}
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    if text is None:
        event.pop("body", None)
        event["headers"].pop("content-length", None)
    else:
        event["headers"]["content-length"] = str(len(text.encode()))
        event["body"] = base64.b64encode(text.encode()).decode() if base64_body else text
    event["isBase64Encoded"] = base64_body
    return event


def rest_api(
    method: str = "POST", path: str = "/predict", body: Any = SEED, *, query: dict[str, str] | None = None
) -> dict[str, Any]:
    """A REST API (payload 1.0) event: the stage is in requestContext.path, not in path."""
    event = copy.deepcopy(load("rest_api_v1_predict.json"))
    event["path"] = path
    if query:
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {name: [value] for name, value in query.items()}
    event["httpMethod"] = method
    event["requestContext"].update(path=f"/prod{path}", httpMethod=method)
    event["body"] = json.dumps(body) if body is not None else None
    return event


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


class Context:
    """The attributes of a Lambda context object."""

    function_name = "fraud-inference"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:fraud-inference"
    aws_request_id = "5b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e"
    log_group_name = "/aws/lambda/fraud-inference"
    log_stream_name = "2026/11/29/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
