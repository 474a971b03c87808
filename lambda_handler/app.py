"""The FastAPI app factory: routers, the request middleware and the error handlers."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI

from lambda_handler import exception_handlers
from lambda_handler.config import get_settings
from lambda_handler.deps import strict_query
from lambda_handler.middleware import RequestContextMiddleware
from lambda_handler.routes import health, labels, model, policy, predict

API_VERSION = "1.0.0"
_API_KEY_SCHEME = "apiKey"
_DESCRIPTION = (
    "Scores PaySim payment transactions for fraud. `POST /predict` takes one transaction "
    "(amount, oldbalanceOrg and newbalanceOrig are required); every error has the shape "
    '`{"error": {"code", "message", "request_id", "details": [{"field", "reason"}]}}`.'
)


def create_app() -> FastAPI:
    app = FastAPI(
        title="Fraud detection API",
        version=API_VERSION,
        description=_DESCRIPTION,
        redoc_url=None,
        dependencies=[Depends(strict_query)],
    )
    app.add_middleware(RequestContextMiddleware)
    exception_handlers.install(app)
    settings = get_settings()
    routers = (predict.build_router(settings.max_batch_size), health.router, model.router, policy.router,
               labels.router)  # fmt: skip
    for router in routers:
        app.include_router(router)
    header = settings.api_key_header
    if header:
        _declare_api_key(app, header)
    return app


def _declare_api_key(app: FastAPI, header: str) -> None:
    """Declare the gateway's API key in /openapi.json: /docs then offers "Authorize" and sends the key."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = {
                _API_KEY_SCHEME: {"type": "apiKey", "in": "header", "name": header}
            }
            schema["security"] = [{_API_KEY_SCHEME: []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
