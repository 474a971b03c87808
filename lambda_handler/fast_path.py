"""The hot routes served straight from the Lambda event (`POST {stage}/predict`, `/predict/batch`): same
models, service functions and Scorer as the app, same response bytes, without Mangum + FastAPI (~300 µs).
Anything else (other routes, query strings, every error, no model yet) is left to the app: returns None.
"""

from __future__ import annotations

import binascii
from typing import Any

from pydantic import ValidationError

from fraud_model.transaction import Transaction
from lambda_handler import events, observability, service, wire
from lambda_handler.config import get_settings
from lambda_handler.errors import ModelUnavailableError
from lambda_handler.model_cache import get_model_cache
from lambda_handler.policy_cache import get_policy_cache
from lambda_handler.request_context import REQUEST_ID_HEADER, RequestRecord, resolve_request_id

_PREDICT, _BATCH = "/predict", "/predict/batch"


def serve(event: Any) -> dict[str, Any] | None:
    """The response to a hot-route event, or None to let Mangum + FastAPI answer it."""
    if not isinstance(event, dict) or not isinstance(event.get("requestContext"), dict):
        return None
    if events.method(event) != "POST" or events.has_query(event):
        return None
    path = events.split_path(event)[1]
    if path != _PREDICT and path != _BATCH:
        return None
    if not events.is_json(events.header(event, "content-type")) or events.header(event, "content-encoding"):
        return None
    record = RequestRecord(
        request_id=resolve_request_id(events.request_id(event), events.header(event, REQUEST_ID_HEADER)),
        method="POST",
        path=path,
        route=path,
    )
    try:
        body = events.body(event)
    except (binascii.Error, ValueError):
        return None
    settings = get_settings()
    if not body or len(body) > settings.max_body_bytes:
        return None
    try:
        content = _answer(path, body, settings.max_batch_size, record)
    except (ValidationError, wire.DecodeError, ModelUnavailableError):
        return None  # the app answers these, in the one error shape
    except Exception:  # anything unexpected: the app answers it again, logs it, and renders a JSON 500
        return None
    if content is None:
        return None
    observability.record_request(record, 200)
    response_headers = [
        ("content-length", str(len(content))),
        ("content-type", "application/json"),
        (REQUEST_ID_HEADER, record.request_id),
    ]
    return events.response(event, 200, content, response_headers)


def _answer(path: str, body: bytes, max_batch_size: int, record: RequestRecord) -> bytes | None:
    if path == _BATCH:
        transactions = wire.decode_batch(body)
        if len(transactions) > max_batch_size:
            return None
        scorer = get_model_cache().get()
        return service.predict_batch(scorer, transactions, record=record, policy=get_policy_cache().get())
    transaction = Transaction.model_validate_json(body)
    scorer = get_model_cache().get()
    policy = get_policy_cache().get()
    response = service.predict(scorer, transaction, explain=False, record=record, policy=policy)
    # FastAPI serialises a response_model with the model's own serializer (by alias): the same bytes.
    return response.__pydantic_serializer__.to_json(response, by_alias=True)
