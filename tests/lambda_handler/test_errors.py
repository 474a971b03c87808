"""The one error shape, and field names that say where a mistake is."""

from __future__ import annotations

import json

from lambda_handler import errors
from lambda_handler.request_context import resolve_request_id
from lambda_handler.schemas import ErrorDetail


def test_errors_field_name_formats_nested_locations() -> None:
    assert errors.field_name(("body", "transactions", 3, "type")) == "transactions[3].type"


def test_errors_field_name_of_a_json_decode_error_is_the_body() -> None:
    assert errors.field_name(("body", 17)) == "body"


def test_errors_render_writes_the_one_shape() -> None:
    body = json.loads(errors.render(422, "bad", "req-1", details=[ErrorDetail(field="amount", reason="r")]))
    assert body == {
        "error": {"code": "validation_error", "message": "bad", "request_id": "req-1",
                  "details": [{"field": "amount", "reason": "r"}]}
    }  # fmt: skip


def test_errors_request_id_prefers_api_gateways() -> None:
    assert resolve_request_id("gw-id", "client-id") == "gw-id"


def test_errors_request_id_refuses_a_malformed_header() -> None:
    request_id = resolve_request_id(None, "bad id\r\nX-Injected: 1")
    assert request_id.isalnum() and len(request_id) == 32
