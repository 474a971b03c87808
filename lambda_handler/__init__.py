"""lambda_handler: the inference API (FastAPI app, Lambda handler with a fast path, model cache)."""
