"""The Lambda handler, called with API Gateway events as Lambda would call it."""

from __future__ import annotations

import json

import pytest

from fraud_model import artifact
from fraud_model.store import LocalStore
from lambda_handler import service
from lambda_handler.handler import handler
from tests.lambda_handler import model_factory
from tests.lambda_handler.gateway_events import FULL, SEED, Context, body_of, http_api, load, rest_api


def test_handler_seed_request_over_http_api_returns_a_decision(store: LocalStore, context: Context) -> None:
    response = handler(load("http_api_v2_predict.json"), context)
    answer = body_of(response)
    assert response["statusCode"] == 200
    assert isinstance(answer["is_fraud"], bool)
    assert 0.0 <= answer["confidence"] <= 1.0
    assert answer["feature_set"] == "origin"
    assert answer["model_version"] == artifact.read_pointer(store)


def test_handler_seed_request_over_rest_api_returns_a_decision(store: LocalStore, context: Context) -> None:
    response = handler(load("rest_api_v1_predict.json"), context)
    assert response["statusCode"] == 200
    assert isinstance(body_of(response)["is_fraud"], bool)


def test_handler_base64_body_is_decoded(store: LocalStore, context: Context) -> None:
    plain = handler(load("rest_api_v1_predict.json"), context)
    encoded = handler(load("rest_api_v1_predict_base64.json"), context)
    assert encoded["statusCode"] == 200
    assert body_of(encoded) == body_of(plain)


def test_handler_default_stage_has_no_prefix(store: LocalStore, context: Context) -> None:
    assert handler(http_api(stage="$default"), context)["statusCode"] == 200


def test_handler_full_transaction_is_scored_by_the_full_model(store: LocalStore, context: Context) -> None:
    assert body_of(handler(http_api(body=FULL), context))["feature_set"] == "full"


def test_handler_integer_amounts_are_accepted(store: LocalStore, context: Context) -> None:
    response = handler(http_api(body={"amount": 112, "oldbalanceOrg": 100, "newbalanceOrig": 0}), context)
    assert response["statusCode"] == 200


def test_handler_explain_returns_reasons(store: LocalStore, context: Context) -> None:
    response = handler(http_api(body=FULL, query="explain=true"), context)
    reasons = body_of(response)["reasons"]
    assert response["statusCode"] == 200
    assert reasons and {"feature", "value", "contribution"} <= reasons[0].keys()


def test_handler_missing_body_is_422_naming_the_body(store: LocalStore, context: Context) -> None:
    response = handler(http_api(body=None), context)
    error = body_of(response)["error"]
    assert response["statusCode"] == 422
    assert error["details"] == [{"field": "body", "reason": "field required"}]


def test_handler_invalid_json_is_422_naming_the_body(store: LocalStore, context: Context) -> None:
    response = handler(http_api(raw_body='{"amount": 1,'), context)
    detail = body_of(response)["error"]["details"][0]
    assert response["statusCode"] == 422
    assert detail["field"] == "body" and detail["reason"].startswith("invalid JSON")


def test_handler_wrong_content_type_is_415(store: LocalStore, context: Context) -> None:
    response = handler(http_api(headers={"content-type": "text/plain"}), context)
    assert response["statusCode"] == 415
    assert body_of(response)["error"]["code"] == "unsupported_media_type"


def test_handler_missing_content_type_is_415(store: LocalStore, context: Context) -> None:
    event = http_api()
    del event["headers"]["content-type"]
    assert handler(event, context)["statusCode"] == 415


def test_handler_unknown_route_is_404_in_the_error_shape(store: LocalStore, context: Context) -> None:
    response = handler(http_api(path="/nope"), context)
    assert response["statusCode"] == 404
    assert body_of(response)["error"]["code"] == "not_found"


def test_handler_wrong_method_is_405_in_the_error_shape(store: LocalStore, context: Context) -> None:
    response = handler(http_api("GET", body=None), context)
    assert response["statusCode"] == 405
    assert body_of(response)["error"]["code"] == "method_not_allowed"


def test_handler_request_id_is_api_gateways(store: LocalStore, context: Context) -> None:
    event = http_api(path="/nope")
    response = handler(event, context)
    request_id = event["requestContext"]["requestId"]
    assert response["headers"]["x-request-id"] == request_id
    assert body_of(response)["error"]["request_id"] == request_id


def test_handler_docs_under_a_stage_load_the_staged_openapi(store: LocalStore, context: Context) -> None:
    response = handler(load("http_api_v2_docs.json"), context)
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"].startswith("text/html")
    assert "/prod/openapi.json" in response["body"]


def test_handler_rest_api_docs_load_the_staged_openapi(store: LocalStore, context: Context) -> None:
    response = handler(rest_api("GET", "/docs", body=None), context)
    assert "/prod/openapi.json" in response["body"]


def test_handler_openapi_under_a_stage_names_the_stage_as_server(store: LocalStore, context: Context) -> None:
    document = body_of(handler(http_api("GET", "/openapi.json", body=None), context))
    assert document["servers"] == [{"url": "/prod"}]
    assert {"/predict", "/predict/batch", "/health", "/ready", "/model"} <= document["paths"].keys()


def test_handler_openapi_declares_the_gateways_api_key(
    store: LocalStore, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_API_KEY_HEADER", "x-api-key")  # what the CDK stack sets with apiAuth=apiKey
    document = body_of(handler(http_api("GET", "/openapi.json", body=None), context))
    assert document["components"]["securitySchemes"] == {
        "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}
    }
    assert document["security"] == [{"apiKey": []}]


def test_handler_openapi_declares_no_key_by_default(store: LocalStore, context: Context) -> None:
    document = body_of(handler(http_api("GET", "/openapi.json", body=None), context))
    assert "securitySchemes" not in document.get("components", {})
    assert "security" not in document


def test_handler_batch_answers_in_order(store: LocalStore, context: Context) -> None:
    transactions = [SEED, FULL, {**SEED, "amount": 5000.0, "oldbalanceOrg": 5000.0}]
    batch = body_of(handler(http_api(path="/predict/batch", body={"transactions": transactions}), context))
    singles = [body_of(handler(http_api(body=t), context)) for t in transactions]
    assert [p["feature_set"] for p in batch["predictions"]] == [s["feature_set"] for s in singles]
    for prediction, single in zip(batch["predictions"], singles, strict=True):
        assert prediction["fraud_probability"] == pytest.approx(single["fraud_probability"], abs=1e-12)


def test_handler_batch_over_the_limit_is_422(
    store: LocalStore, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_MAX_BATCH_SIZE", "2")
    response = handler(http_api(path="/predict/batch", body={"transactions": [SEED] * 3}), context)
    assert response["statusCode"] == 422
    assert body_of(response)["error"]["details"][0]["field"] == "transactions"


def test_handler_empty_batch_is_422(store: LocalStore, context: Context) -> None:
    response = handler(http_api(path="/predict/batch", body={"transactions": []}), context)
    assert response["statusCode"] == 422


def test_handler_body_over_the_limit_is_413(
    store: LocalStore, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_MAX_BODY_BYTES", "1024")
    response = handler(http_api(path="/predict/batch", body={"transactions": [SEED] * 40}), context)
    assert response["statusCode"] == 413
    assert body_of(response)["error"]["code"] == "payload_too_large"


def test_handler_unexpected_error_is_a_json_500(
    store: LocalStore, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "predict", broken)
    response = handler(http_api(), context)
    error = body_of(response)["error"]
    assert response["statusCode"] == 500
    assert error["code"] == "internal_error" and error["request_id"]


def test_handler_health_needs_no_model(empty_store: LocalStore, context: Context) -> None:
    assert handler(http_api("GET", "/health", body=None), context)["statusCode"] == 200


def test_handler_ready_is_503_without_a_model(empty_store: LocalStore, context: Context) -> None:
    response = handler(http_api("GET", "/ready", body=None), context)
    assert response["statusCode"] == 503
    assert body_of(response)["error"]["code"] == "model_unavailable"


def test_handler_ready_names_the_model_version(store: LocalStore, context: Context) -> None:
    answer = body_of(handler(http_api("GET", "/ready", body=None), context))
    assert answer == {"status": "ready", "model_version": artifact.read_pointer(store)}


def test_handler_model_reports_version_thresholds_and_features(store: LocalStore, context: Context) -> None:
    answer = body_of(handler(http_api("GET", "/model", body=None), context))
    full = next(fs for fs in answer["feature_sets"] if fs["name"] == "full")
    assert answer["version"] == artifact.read_pointer(store)
    assert answer["trained_at"]
    assert full["threshold"] == 0.5 and "orig_balance_error" in full["features"]
    assert full["evasion_band_top"] == 0.45  # 0.9 × the threshold


def test_handler_without_a_model_answers_503_then_recovers(
    empty_store: LocalStore, reference: tuple[LocalStore, str], context: Context
) -> None:
    first = handler(http_api(), context)
    model_factory.copy_version(*reference, empty_store)
    second = handler(http_api(), context)
    assert first["statusCode"] == 503
    assert body_of(first)["error"]["message"] == "no model has been published yet"
    assert second["statusCode"] == 200


def test_handler_swaps_to_a_promoted_version(
    store: LocalStore, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_POINTER_TTL_SECONDS", "0")
    before = body_of(handler(http_api(), context))["model_version"]
    promoted = model_factory.copy_version(store, before, store, threshold=0.9)
    after = body_of(handler(http_api(), context))
    assert (after["model_version"], after["threshold"]) == (promoted, 0.9)


def test_handler_pinned_version_ignores_promotions(
    store: LocalStore, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinned = artifact.read_pointer(store)
    monkeypatch.setenv("FRAUD_MODEL_VERSION", pinned)
    monkeypatch.setenv("FRAUD_POINTER_TTL_SECONDS", "0")
    model_factory.copy_version(store, pinned, store)
    assert body_of(handler(http_api(), context))["model_version"] == pinned


def test_handler_tampered_promotion_keeps_the_last_good_model(
    store: LocalStore, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_POINTER_TTL_SECONDS", "0")
    good = body_of(handler(http_api(), context))["model_version"]
    bad = model_factory.copy_version(store, good, store, make_current=False)
    model_factory.tamper(store, bad, "origin.forest.npz")
    model_factory.point_at(store, bad)
    response = handler(http_api(), context)
    assert response["statusCode"] == 200
    assert body_of(response)["model_version"] == good


def test_handler_writes_one_emf_line_per_invocation(
    store: LocalStore, context: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    handler(http_api(), context)  # the first one also loads the model (and counts ModelLoaded)
    capsys.readouterr()
    handler(http_api(), context)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    emf = [line for line in lines if "_aws" in line]
    assert len(emf) == 1
    assert emf[0]["route"] == "/predict" and len(emf[0]["Latency"]) == 1
    assert emf[0]["model_version"] == artifact.read_pointer(store)
    assert emf[0]["request_id"] == http_api()["requestContext"]["requestId"]


def test_handler_counts_a_model_load_under_its_version(
    store: LocalStore, context: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    handler(http_api(), context)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    loaded = [line for line in lines if "ModelLoaded" in line]
    assert [line["model_version"] for line in loaded] == [artifact.read_pointer(store)]
