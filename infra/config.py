"""Deployment settings: CDK context keys (`cdk.json` or `cdk deploy -c key=value`), parsed and checked once.

Defaults live here only; the README's configuration table lists the same keys.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal, get_args, get_type_hints

from constructs import Node

from fraud_model import constants

ApiAuth = Literal["apiKey", "iam"]
LambdaArchitecture = Literal["x86_64", "arm64"]

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
_ARTICLE = {bool: "a boolean", int: "an integer", float: "a number"}


@dataclass(frozen=True, kw_only=True)
class InfraConfig:
    """Every knob of the stack; the field name in camelCase is its CDK context key."""

    stack_name: str = "FraudDetection"
    # Training: 4 vCPU / 16 GiB; the full PaySim set (6.4 M rows) peaks at ~1.4 GB RSS: smaller types work.
    training_instance_type: str = "m7i.xlarge"
    training_timeout_minutes: int = 180
    training_volume_gib: int = 30
    training_interface_endpoints: bool = False
    # A Dask cluster: N worker instances beside the training instance (0: the training instance alone).
    training_workers: int = 0
    training_worker_instance_type: str | None = None  # None: the training instance type
    # Serving.
    lambda_architecture: LambdaArchitecture = "x86_64"
    lambda_memory_mb: int = 1024
    lambda_timeout_seconds: int = 10
    lambda_reserved_concurrency: int | None = None
    model_version: str | None = None
    pointer_ttl_seconds: float = constants.DEFAULT_POINTER_TTL_SECONDS
    max_batch_size: int = constants.DEFAULT_MAX_BATCH_SIZE
    max_body_bytes: int = constants.DEFAULT_MAX_BODY_BYTES
    # API Gateway.
    api_auth: ApiAuth = "apiKey"
    public_docs: bool = True  # GET /docs and /openapi.json without a key (a browser sends none)
    api_rate_limit: int = 50
    api_burst_limit: int = 100
    latency_p99_alarm_ms: int = 2500
    server_error_alarm_count: int = 5
    alarm_topic_arn: str | None = None
    # Everything that writes logs.
    log_retention_days: int = 30

    def __post_init__(self) -> None:
        if self.api_auth not in ("apiKey", "iam"):
            raise ValueError(f"context apiAuth must be 'apiKey' or 'iam', got {self.api_auth!r}")
        if self.lambda_architecture not in ("x86_64", "arm64"):
            raise ValueError(
                f"context lambdaArchitecture must be 'x86_64' or 'arm64', got {self.lambda_architecture!r}"
            )
        if not 1 <= self.max_batch_size <= constants.MAX_BATCH_SIZE_LIMIT:
            raise ValueError(f"context maxBatchSize must be 1..{constants.MAX_BATCH_SIZE_LIMIT}")
        if self.training_workers < 0:
            raise ValueError(f"context trainingWorkers must be 0 or more, got {self.training_workers}")
        if not 1 <= self.lambda_timeout_seconds <= 29:
            raise ValueError("context lambdaTimeoutSeconds must be 1..29 (API Gateway gives up after 29 s)")

    @classmethod
    def from_context(cls, node: Node) -> InfraConfig:
        """Read every field from the CDK context; `-c key=value` arrives as a string, hence the coercion."""
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = node.try_get_context(_camel(field.name))
            if raw is not None:
                values[field.name] = _coerce(_camel(field.name), raw, hints[field.name])
        return cls(**values)


def context_keys() -> list[str]:
    """The CDK context keys this app reads, for documentation and tests."""
    return [_camel(field.name) for field in fields(InfraConfig)]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _coerce(key: str, raw: Any, hint: Any) -> Any:
    kinds = set(get_args(hint)) or {hint}  # `int | None` -> {int, NoneType}; Literal[...] -> its strings
    for kind in (bool, int, float):
        if kind in kinds:
            try:
                return _to_bool(raw) if kind is bool else _to_int(raw) if kind is int else kind(raw)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"context {key} must be {_ARTICLE[kind]}, got {raw!r}") from exc
    return str(raw)


def _to_int(raw: Any) -> int:
    # int() would turn 2.5 (from cdk.json) into 2 and True into 1: only whole numbers are integers here.
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise ValueError(raw)
    return int(raw)


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    lowered = str(raw).strip().lower()
    if lowered in _TRUE | _FALSE:
        return lowered in _TRUE
    raise ValueError(raw)
