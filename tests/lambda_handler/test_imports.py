"""Importing the handler stays light: no pandas or scikit-learn, heavy libraries only when needed, no I/O."""

from __future__ import annotations

import json
import subprocess
import sys

_CHECK = """
import json, sys
import lambda_handler.handler
from lambda_handler import model_cache
print(json.dumps({"modules": sorted(sys.modules), "cache": model_cache._cache.peek() is not None}))
"""


def _import_handler() -> dict[str, object]:
    env_free = {"FRAUD_MODEL_STORE": "s3://no-such-bucket/never-read"}  # reading it would need boto3
    run = subprocess.run(
        [sys.executable, "-c", _CHECK],
        capture_output=True,
        text=True,
        check=True,
        env={**_base_env(), **env_free},
    )
    result: dict[str, object] = json.loads(run.stdout.splitlines()[-1])
    return result


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("FRAUD_")}


def test_imports_handler_imports_neither_pandas_nor_sklearn() -> None:
    modules = set(_import_handler()["modules"])  # type: ignore[call-overload]
    assert not {"pandas", "sklearn", "scipy"} & modules


def test_imports_handler_defers_heavy_libraries() -> None:
    modules = set(_import_handler()["modules"])  # type: ignore[call-overload]
    # (Powertools imports the top-level `botocore` package, 0.4 ms, for its user-agent hook: not a client.)
    assert not {"xgboost", "lightgbm", "boto3", "botocore.client", "fastapi", "starlette", "mangum"} & modules


def test_imports_handler_reads_no_model_at_import() -> None:
    assert _import_handler()["cache"] is False
