"""The Lambda entry point: the FastAPI app wrapped by Mangum (`lifespan="off"`), with a fast path for the
hot routes (see `fast_path`). FastAPI itself is imported on the first event the fast path leaves to it,
so a cold start that begins with `/predict` never pays for it. Metrics are flushed after every event.

Every event gets an answer in the API's error shape when it cannot be served: one that is not a readable
API Gateway proxy event is refused with a 400 (and logged, without its body) before anything parses it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from lambda_handler import errors, events, fast_path, observability, recording
from lambda_handler.request_context import REQUEST_ID_HEADER, resolve_request_id

__all__ = ["get_adapter", "handler"]

recording.start_on_lambda()  # on Lambda, while the function initialises; elsewhere nothing


@cache
def get_adapter() -> Any:
    """Mangum around the app, built on first use (the lifespan is off: Mangum would run it every event)."""
    from mangum import Mangum

    from lambda_handler.app import create_app
    from lambda_handler.gateway import HANDLERS

    return Mangum(create_app(), lifespan="off", custom_handlers=HANDLERS)


def handler(event: Any, context: Any) -> dict[str, Any]:
    try:
        problem = events.problem(event)
        if problem is not None:
            return _refuse(event, 400, problem, "bad_request")
        event = events.normalized(event)
        response = fast_path.serve(event)
        if response is None:
            response = get_adapter()(event, context)
        return response
    except Exception:  # the app renders its own errors; this is Mangum or the event itself failing
        observability.logger.exception("unhandled error outside the app")
        return _refuse(event, 500, "internal error", "internal_error")
    finally:
        observability.flush_metrics()
        recording.end_invocation()  # last: on Lambda its work may run after the answer is posted


def _refuse(event: Any, status: int, message: str, code: str) -> dict[str, Any]:
    """An answer in the error shape, in the event's payload format when it has one."""
    readable = isinstance(event, dict)
    request_id = resolve_request_id(events.request_id(event) if readable else None, None)
    if status < 500:
        keys = sorted(map(str, event))[:20] if readable else type(event).__name__
        observability.logger.warning("event refused", extra={"reason": message, "event_keys": keys,
                                                              "request_id": request_id})  # fmt: skip
    content = errors.render(status, message, request_id, code=code)
    headers = [("content-type", "application/json"), (REQUEST_ID_HEADER, request_id)]
    return events.response(event if readable else {}, status, content, headers)
