"""The ASGI middleware around every request: request id, body-size limit, catch-all, one log line.

Plain ASGI (Starlette's BaseHTTPMiddleware costs ~100 µs a request). It owns what every route shares:
the request id (API Gateway's requestContext.requestId, else X-Request-Id, else a new one) answered
as a header, 413 above `max_body_bytes`, a JSON 500 for anything unexpected, and the request's record.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lambda_handler import errors, events, observability
from lambda_handler.config import get_settings
from lambda_handler.request_context import REQUEST_ID_HEADER, RequestRecord, resolve_request_id

CLIENT_CLOSED_REQUEST = 499  # logged and counted as a client error; never sent (nobody is listening)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        event = scope.get("aws.event")
        record = RequestRecord(
            request_id=resolve_request_id(
                events.request_id(event) if event else None, headers.get(REQUEST_ID_HEADER)
            ),
            method=scope["method"],
            path=scope["path"][len(scope.get("root_path", "")) :] or "/",
        )
        scope.setdefault("state", {})["record"] = record
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                extra = (REQUEST_ID_HEADER.encode(), record.request_id.encode())
                message = {**message, "headers": [*message.get("headers", []), extra]}
            await send(message)

        settings = get_settings()
        try:
            _check_encoding(headers)
            body = await _read_body(receive, headers, settings.max_body_bytes, settings.body_timeout_seconds)
            if body is None:  # the client went away mid-body: nobody to answer, and no server error
                status, record.error_code = CLIENT_CLOSED_REQUEST, "client_closed_request"
            else:
                await self.app(scope, _replay(body, receive), send_with_id)
        except errors.ApiError as exc:  # raised here, before the app: too large, too slow, compressed
            record.error_code = exc.code
            await _send_error(send_with_id, exc.status, exc.message, record.request_id, exc.code)
        except Exception:  # the catch-all: whatever went wrong, the client gets the JSON shape
            observability.logger.exception("unhandled error", extra={"request_id": record.request_id})
            record.error_code = "internal_error"
            if not started:
                await _send_error(send_with_id, 500, "internal error", record.request_id, "internal_error")
        finally:
            # FastAPI names APIRoutes in the scope; the only other routes that answer: /docs, /openapi.json.
            route = getattr(scope.get("route"), "path", None)
            record.route = route or (record.path if status < 400 else None)
            observability.record_request(record, status)
            if event is None:  # under uvicorn each request is its own invocation
                observability.flush_metrics()


def _check_encoding(headers: Headers) -> None:
    """415 for a compressed body: it is never decompressed, so it would otherwise fail as invalid JSON."""
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise errors.UnsupportedMediaTypeError(
            f"content-encoding {encoding[:40]} is not supported: send the body uncompressed"
        )


async def _read_body(receive: Receive, headers: Headers, limit: int, timeout: float) -> bytes | None:
    """The whole body, or PayloadTooLargeError past `limit`, RequestTimeoutError when it has not all
    arrived within `timeout` seconds (a client that never finishes must not hold the connection); None
    when the client went away. (Under Lambda the body is complete before the app sees it.)"""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise errors.PayloadTooLargeError(f"the request body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            message = await asyncio.wait_for(receive(), timeout=max(remaining, 0.0))
        except TimeoutError as exc:
            raise errors.RequestTimeoutError(f"the request body did not arrive within {timeout:g} s") from exc
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise errors.PayloadTooLargeError(f"the request body exceeds {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _send_error(send: Send, status: int, message: str, request_id: str, code: str) -> None:
    content = errors.render(status, message, request_id, code=code)
    response_headers: list[Any] = [
        (b"content-length", str(len(content)).encode()),
        (b"content-type", b"application/json"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": content, "more_body": False})
