"""One APIRouter per resource: health, predict, model."""

from lambda_handler.routes import health, model, predict

__all__ = ["health", "model", "predict"]
