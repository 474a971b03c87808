"""The Lambda entry point: the FastAPI app wrapped by Mangum (`lifespan="off"`), with a fast path for the
hot routes (see `fast_path`). FastAPI itself is imported on the first event the fast path leaves to it,
so a cold start that begins with `/predict` never pays for it. Metrics are flushed after every event.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from lambda_handler import fast_path, observability

__all__ = ["get_adapter", "handler"]


@cache
def get_adapter() -> Any:
    """Mangum around the app, built on first use (the lifespan is off: Mangum would run it every event)."""
    from mangum import Mangum

    from lambda_handler.app import create_app
    from lambda_handler.gateway import HANDLERS

    return Mangum(create_app(), lifespan="off", custom_handlers=HANDLERS)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        response = fast_path.serve(event)
        if response is None:
            response = get_adapter()(event, context)
        return response
    finally:
        observability.flush_metrics()
