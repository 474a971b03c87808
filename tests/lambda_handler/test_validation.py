"""Strict input: every client mistake is a 422 naming the field, in the one error shape."""

from __future__ import annotations

import pytest

from fraud_model.store import LocalStore
from lambda_handler.handler import handler
from tests.lambda_handler.gateway_events import SEED, Context, body_of, http_api

_BAD_BODIES = {
    "number_as_string": ('{"amount": "12", "oldbalanceOrg": 100.0, "newbalanceOrig": 0.0}', "amount"),
    "boolean_as_number": ('{"amount": true, "oldbalanceOrg": 100.0, "newbalanceOrig": 0.0}', "amount"),
    "negative_money": ('{"amount": 112.0, "oldbalanceOrg": -1, "newbalanceOrig": 0.0}', "oldbalanceOrg"),
    "infinite_money": ('{"amount": 1e400, "oldbalanceOrg": 100.0, "newbalanceOrig": 0.0}', "amount"),
    "nan_money": ('{"amount": NaN, "oldbalanceOrg": 100.0, "newbalanceOrig": 0.0}', "amount"),
    "unknown_type": ('{"amount": 1.0, "oldbalanceOrg": 1.0, "newbalanceOrig": 0.0, "type": "WIRE"}', "type"),
    "unknown_field": (
        '{"amount": 1.0, "oldbalanceOrg": 1.0, "newbalanceOrig": 0.0, "isFraud": 1}',
        "isFraud",
    ),
    "missing_field": ('{"amount": 1.0, "oldbalanceOrg": 1.0}', "newbalanceOrig"),
    "fractional_step": ('{"amount": 1.0, "oldbalanceOrg": 1.0, "newbalanceOrig": 0.0, "step": 1.5}', "step"),
    "number_as_name": (
        '{"amount": 1.0, "oldbalanceOrg": 1.0, "newbalanceOrig": 0.0, "nameOrig": 7}',
        "nameOrig",
    ),
    "array_body": ("[1, 2]", "body"),
}


@pytest.mark.parametrize(("raw", "field"), list(_BAD_BODIES.values()), ids=list(_BAD_BODIES))
def test_validation_rejects_with_a_422_naming_the_field(
    raw: str, field: str, store: LocalStore, context: Context
) -> None:
    response = handler(http_api(raw_body=raw), context)
    error = body_of(response)["error"]
    assert response["statusCode"] == 422
    assert error["code"] == "validation_error"
    assert field in [detail["field"] for detail in error["details"]]


def test_validation_names_the_transaction_of_a_batch(store: LocalStore, context: Context) -> None:
    batch = {"transactions": [SEED, {**SEED, "type": "WIRE"}]}
    response = handler(http_api(path="/predict/batch", body=batch), context)
    assert body_of(response)["error"]["details"][0]["field"] == "transactions[1].type"


def test_validation_never_echoes_the_rejected_value(store: LocalStore, context: Context) -> None:
    response = handler(http_api(body={**SEED, "nameOrig": "C" + "9" * 80}), context)
    assert response["statusCode"] == 422
    assert "C999" not in response["body"]
