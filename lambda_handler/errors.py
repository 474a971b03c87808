"""API errors: each class carries its HTTP status and error code; `render` writes the one error shape."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lambda_handler.schemas import ErrorDetail, ErrorInfo, ErrorResponse

_CODES_BY_STATUS = {
    400: "bad_request",
    404: "not_found",
    408: "request_timeout",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    500: "internal_error",
    503: "model_unavailable",
}
MAX_DETAILS = 20  # per error answer
_REASONS = {  # clearer than pydantic's wording for the mistakes clients make most
    "extra_forbidden": "unknown field",
    "missing": "field required",
}


class ApiError(Exception):
    """Base of the errors a request can end in; the exception handlers render them."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, details: Iterable[ErrorDetail] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)


class UnsupportedMediaTypeError(ApiError):
    status = 415
    code = "unsupported_media_type"


class QueryError(ApiError):
    status = 422
    code = "validation_error"


class PayloadTooLargeError(ApiError):
    status = 413
    code = "payload_too_large"


class RequestTimeoutError(ApiError):
    status = 408
    code = "request_timeout"


class ModelUnavailableError(ApiError):
    """No verified model could be loaded; the cause stays in the logs, not in the answer."""

    status = 503
    code = "model_unavailable"


def code_for_status(status: int) -> str:
    return _CODES_BY_STATUS.get(status, "client_error" if status < 500 else "internal_error")


def field_name(loc: Sequence[Any]) -> str:
    """`("body", "transactions", 3, "type")` -> `transactions[3].type`; the body itself is `body`."""
    parts = list(loc[1:]) if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    if not parts or (loc and loc[0] == "body" and isinstance(parts[0], int)):
        return "body"  # JSON decode errors carry a character offset, not a field
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def validation_details(errors: Sequence[Mapping[str, Any]]) -> list[ErrorDetail]:
    """Field-level reasons from pydantic/FastAPI errors, at most MAX_DETAILS of them (then one that counts
    the rest: an answer stays small whatever the request); never echoes the input value."""
    details = []
    for error in errors[:MAX_DETAILS]:
        reason = _REASONS.get(error.get("type", ""), str(error.get("msg", "invalid value")))
        if error.get("type") == "json_invalid":
            reason = f"invalid JSON: {error.get('ctx', {}).get('error', 'cannot parse')}"
        details.append(ErrorDetail(field=_clip(field_name(error.get("loc", ()))), reason=_clip(reason)))
    if len(errors) > MAX_DETAILS:
        more = len(errors) - MAX_DETAILS
        details.append(ErrorDetail(field="body", reason=f"{more} more errors not listed"))
    return details


def _clip(text: str, limit: int = 120) -> str:
    """Field names come from the request (an unknown key may be a megabyte long): answer a prefix."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def render(status: int, message: str, request_id: str, *, code: str | None = None,
           details: Iterable[ErrorDetail] = ()) -> bytes:  # fmt: skip
    """The JSON body of an error response."""
    info = ErrorInfo(code=code or code_for_status(status), message=message, request_id=request_id,
                     details=list(details))  # fmt: skip
    return ErrorResponse(error=info).model_dump_json().encode()
