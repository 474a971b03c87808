"""Hostile and malformed input at the handler: every event gets an answer in the error shape, small and
quick, and none raises out of the handler."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fraud_model.store import LocalStore
from lambda_handler.handler import handler
from tests.lambda_handler.gateway_events import FULL, SEED, Context, body_of, http_api, rest_api

LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024


def _error(response: dict[str, Any]) -> dict[str, Any]:
    error: dict[str, Any] = body_of(response)["error"]
    assert error["request_id"]
    return error


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"isBase64Encoded": True, "body": "abc"}, "not valid base64"),
        ({"isBase64Encoded": True, "body": "!!!!"}, "not valid base64"),
        ({"isBase64Encoded": "yes"}, "isBase64Encoded"),
        ({"body": {"amount": 1}}, "body is not a string"),
        ({"headers": ["x"]}, "headers is not an object"),
    ],
)
def test_handler_malformed_event_is_a_400_naming_the_problem(
    store: LocalStore, context: Context, change: dict[str, Any], reason: str
) -> None:
    for event in (rest_api(), http_api()):
        response = handler({**event, **change}, context)
        assert response["statusCode"] == 400
        error = _error(response)
        assert error["code"] == "bad_request" and reason in error["message"]


@pytest.mark.parametrize("event", [{}, [], "text", None, {"requestContext": "x"}, {"httpMethod": "POST"}])
def test_handler_event_that_is_not_a_proxy_event_is_a_400(context: Context, event: Any) -> None:
    response = handler(event, context)
    assert response["statusCode"] == 400
    assert _error(response)["code"] == "bad_request"


def test_handler_null_headers_are_no_headers(store: LocalStore, context: Context) -> None:
    """Without headers there is no content type: a 415, not an exception."""
    for event in (rest_api(), http_api()):
        response = handler({**event, "headers": None, "multiValueHeaders": None}, context)
        assert response["statusCode"] == 415


def test_handler_valid_base64_still_scores(store: LocalStore, context: Context) -> None:
    assert handler(http_api(base64_body=True), context)["statusCode"] == 200


@pytest.mark.parametrize(
    "body",
    [
        '{"transactions": [' + ",".join(["{}"] * 340_000) + "]}",  # ~1 MB of empty transactions
        '{"transactions": [' + ",".join([json.dumps(SEED)] * 19_000) + "]}",  # ~1 MB of valid ones
        '{"transactions": [{' + ",".join(f'"k{i}": 1' for i in range(100_000)) + "}]}",  # unknown fields
        '{"' + "k" * 1_000_000 + '": 1}',  # a megabyte-long field name
        "[" * 500_000 + "]" * 500_000,  # nesting
    ],
    ids=["empty-items", "valid-items", "unknown-fields", "long-key", "nesting"],
)
def test_handler_one_megabyte_batch_is_answered_small(store: LocalStore, context: Context, body: str) -> None:
    response = handler(http_api(path="/predict/batch", raw_body=body), context)
    assert response["statusCode"] in (400, 413, 422)
    assert len(response["body"]) < 64 * 1024
    assert _error(response)["code"] in ("bad_request", "payload_too_large", "validation_error")


def test_handler_oversized_batch_is_refused_before_its_items_are_validated(
    store: LocalStore, context: Context
) -> None:
    body = {"transactions": [{}] * 1001}
    response = handler(http_api(path="/predict/batch", body=body), context)
    error = _error(response)
    assert response["statusCode"] == 422
    assert [d["field"] for d in error["details"]] == ["transactions"]
    assert "at most 1000" in error["details"][0]["reason"]


def test_handler_error_details_are_capped(store: LocalStore, context: Context) -> None:
    body = {"transactions": [{}] * 500}  # 3 missing fields each
    details = _error(handler(http_api(path="/predict/batch", body=body), context))["details"]
    assert len(details) == 21
    assert details[-1] == {"field": "body", "reason": "1480 more errors not listed"}


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ("explian=true", "query.explian", "unknown query parameter"),
        ("explain=true&explain=false", "query.explain", "given more than once"),
    ],
)
def test_handler_unknown_or_repeated_query_parameter_is_a_422(
    store: LocalStore, context: Context, query: str, field: str, reason: str
) -> None:
    response = handler(http_api(query=query), context)
    assert response["statusCode"] == 422
    assert _error(response)["details"] == [{"field": field, "reason": reason}]


def test_handler_compressed_body_is_a_415(store: LocalStore, context: Context) -> None:
    event = http_api(headers={"content-type": "application/json", "content-encoding": "gzip"})
    response = handler(event, context)
    assert response["statusCode"] == 415
    assert "content-encoding gzip" in _error(response)["message"]


def test_handler_integral_float_step_is_accepted(store: LocalStore, context: Context) -> None:
    """`step` is declared an integer, and 1.0 is one (JSON Schema's integer); 1.5 is not."""
    assert handler(http_api(body={**SEED, "step": 1.0}), context)["statusCode"] == 200
    batch = {"transactions": [{**SEED, "step": 2.0}, {**SEED, "step": 3}]}
    assert handler(http_api(path="/predict/batch", body=batch), context)["statusCode"] == 200
    assert handler(http_api(body={**SEED, "step": 1.5}), context)["statusCode"] == 422


def test_handler_explain_of_a_huge_amount_keeps_to_the_schema(store: LocalStore, context: Context) -> None:
    huge = {**FULL, "amount": 1e300, "oldbalanceOrg": 0.0}
    response = handler(http_api(body=huge, query="explain=true"), context)
    assert response["statusCode"] == 200
    for reason in body_of(response)["reasons"]:
        assert reason["value"] is None or isinstance(reason["value"], float)
