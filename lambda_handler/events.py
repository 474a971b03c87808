"""API Gateway proxy events (REST payload 1.0, HTTP API payload 1.0 and 2.0): path, stage, headers, body.

Read the way Mangum reads them, so the handler's fast path and Mangum + FastAPI see the same request.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

Event = Mapping[str, Any]


def is_v2(event: Event) -> bool:
    return event.get("version") == "2.0"


def method(event: Event) -> str | None:
    if is_v2(event):
        value = (event.get("requestContext") or {}).get("http", {}).get("method")
    else:
        value = event.get("httpMethod")
    return value if isinstance(value, str) else None


def has_query(event: Event) -> bool:
    if is_v2(event):
        return bool(event.get("rawQueryString"))
    return bool(event.get("multiValueQueryStringParameters") or event.get("queryStringParameters"))


def split_path(event: Event) -> tuple[str, str]:
    """(root_path, path): the stage or custom-domain base path in front, and the app's own path after it.

    HTTP APIs put a named stage in the path (`/prod/predict`); REST APIs leave it out of `path` but keep
    it in `requestContext.path`. FastAPI's /docs uses root_path to find `/prod/openapi.json`.
    """
    context = event.get("requestContext") or {}
    full = (context.get("http") or {}).get("path") if is_v2(event) else event.get("path")
    full = unquote(full) if isinstance(full, str) and full else "/"
    stage = context.get("stage")
    prefix = f"/{stage}" if isinstance(stage, str) and stage and stage != "$default" else ""
    if prefix and (full == prefix or full.startswith(f"{prefix}/")):
        return prefix, full[len(prefix) :] or "/"
    outer = context.get("path")
    if not is_v2(event) and isinstance(outer, str) and outer != full:
        outer = unquote(outer)
        if outer.endswith(full) and outer.startswith("/"):
            root = outer[: len(outer) - len(full)].rstrip("/")
            return root, full
    return "", full


def headers(event: Event) -> dict[str, str]:
    """Lower-cased request headers, multi-value headers joined (as Mangum joins them)."""
    merged = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    if not is_v2(event) and event.get("multiValueHeaders"):
        for key, values in event["multiValueHeaders"].items():
            merged[key.lower()] = ", ".join(values) if isinstance(values, list) else ""
    return merged


def header(event: Event, name: str) -> str | None:
    """One request header (`name` in lower case), as `headers(event)` would give it, without the dict."""
    if not is_v2(event):
        found = None
        for key, values in (event.get("multiValueHeaders") or {}).items():
            if key.lower() == name:
                found = ", ".join(values) if isinstance(values, list) else ""
        if found is not None:
            return found
    value = None
    for key, candidate in (event.get("headers") or {}).items():
        if key.lower() == name:
            value = candidate
    return value


def body(event: Event) -> bytes:
    """The request body; binascii.Error when a base64 body is not base64 (no character is skipped)."""
    raw = event.get("body") or b""
    if event.get("isBase64Encoded", False):
        return base64.b64decode(raw, validate=True)
    return raw.encode() if isinstance(raw, str) else raw


def problem(event: object) -> str | None:
    """Why `event` is not an API Gateway proxy event this function can read, or None when it is.

    Checked before the fast path and Mangum read it, so that neither can raise on it.
    """
    if not isinstance(event, Mapping):
        return "the event is not a JSON object"
    if not isinstance(event.get("requestContext"), Mapping):
        return "not an API Gateway proxy event: requestContext is missing"
    if method(event) is None:
        return "not an API Gateway proxy event: no HTTP method"
    for name in ("headers", "multiValueHeaders", "queryStringParameters", "multiValueQueryStringParameters"):
        if event.get(name) is not None and not isinstance(event[name], Mapping):
            return f"{name} is not an object"
    encoded = event.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        return "isBase64Encoded is not true or false"
    raw = event.get("body")
    if raw is not None and not isinstance(raw, str):
        return "body is not a string"
    if encoded and raw:
        try:
            base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return "the body is marked base64 but is not valid base64"
    return None


def normalized(event: Event) -> dict[str, Any]:
    """A shallow copy with absent (null) header and query maps as empty ones, as Mangum expects them."""
    copy = dict(event)
    for name in ("headers", "multiValueHeaders"):
        if copy.get(name) is None:
            copy[name] = {}
    return copy


def request_id(event: Event) -> str | None:
    context = event.get("requestContext")
    value = context.get("requestId") if isinstance(context, Mapping) else None
    return value if isinstance(value, str) else None


def is_json(content_type: str | None) -> bool:
    """application/json or application/*+json, parameters ignored (FastAPI's own rule)."""
    if not content_type:
        return False
    main, _, sub = content_type.split(";", 1)[0].strip().lower().partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def response(
    event: Event, status: int, content: bytes, response_headers: list[tuple[str, str]]
) -> dict[str, Any]:
    """A JSON response in the event's payload format, exactly as Mangum writes it."""
    header_map = dict(response_headers)
    text = content.decode()
    if is_v2(event):
        return {"statusCode": status, "body": text, "headers": header_map, "isBase64Encoded": False}
    return {"statusCode": status, "headers": header_map, "multiValueHeaders": {}, "body": text,
            "isBase64Encoded": False}  # fmt: skip
