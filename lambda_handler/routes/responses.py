"""The error responses routes declare in the OpenAPI document (all share ErrorResponse)."""

from __future__ import annotations

from typing import Any

from lambda_handler.schemas import ErrorResponse

_DESCRIPTIONS = {
    400: "Body or event that cannot be read: invalid UTF-8, an unparseable number, bad base64",
    413: "Body larger than FRAUD_MAX_BODY_BYTES",
    415: "Body not sent as application/json",
    422: "Invalid input: details name each field and reason",
    503: "No verified model could be loaded yet",
}


def errors_for(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]} for status in statuses}
