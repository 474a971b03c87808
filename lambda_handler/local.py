"""`fraud serve`: the same app under uvicorn on this machine."""

from __future__ import annotations

import os

from fraud_model import constants
from lambda_handler import model_cache, policy_cache, recording


def serve(*, host: str, port: int, store_uri: str | None) -> None:
    """Serve the API at http://host:port, reading models from `store_uri` (default: $FRAUD_MODEL_STORE)."""
    if store_uri:
        os.environ[constants.MODEL_STORE_ENV] = store_uri
    model_cache.reset()  # settings are read again, with the store just set
    policy_cache.reset()
    recording.reset()

    import uvicorn

    from lambda_handler.app import create_app

    # The middleware logs one JSON line per request: uvicorn's access log would only repeat it.
    uvicorn.run(create_app(), host=host, port=port, access_log=False)
