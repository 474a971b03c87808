"""The FastAPI app factory: routers, the request middleware and the error handlers."""

from __future__ import annotations

from fastapi import FastAPI

from lambda_handler import exception_handlers
from lambda_handler.middleware import RequestContextMiddleware
from lambda_handler.routes import health, model, predict

API_VERSION = "1.0.0"
_DESCRIPTION = (
    "Scores PaySim payment transactions for fraud. `POST /predict` takes one transaction "
    "(amount, oldbalanceOrg and newbalanceOrig are required); every error has the shape "
    '`{"error": {"code", "message", "request_id", "details": [{"field", "reason"}]}}`.'
)


def create_app() -> FastAPI:
    app = FastAPI(title="Fraud detection API", version=API_VERSION, description=_DESCRIPTION, redoc_url=None)
    app.add_middleware(RequestContextMiddleware)
    exception_handlers.install(app)
    for router in (predict.router, health.router, model.router):
        app.include_router(router)
    return app
