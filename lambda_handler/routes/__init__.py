"""One APIRouter per resource: health, predict, model."""

from lambda_handler.routes import health, model, policy, predict

__all__ = ["health", "model", "policy", "predict"]
