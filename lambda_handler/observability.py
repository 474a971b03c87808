"""Structured logs and CloudWatch metrics (Powertools Logger, Powertools EMF Metrics) for every request.

Per request: one EMF line (latency, predictions, fraud decisions by route; request id and model version
as searchable properties). The Logger writes model loads and failures, client errors (INFO), server
errors (ERROR) and, at DEBUG only, every success: a second JSON line costs ~30 µs, as much as scoring.
Never logged: transaction fields, account names, bodies. Whoever owns the invocation flushes.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from lambda_handler.request_context import RequestRecord

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "fraud-inference"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "FraudDetection"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
_pending: list[Any] = []  # EMF lines of this invocation, not yet written
_MS, _COUNT = MetricUnit.Milliseconds.value, MetricUnit.Count.value


def record_request(record: RequestRecord, status: int) -> None:
    """Queue the request's EMF line (written at the next flush) and log it at its status's level."""
    latency_ms = (time.perf_counter() - record.started) * 1000.0
    route = record.route or "unmatched"
    # Counts are written only when not zero (CloudWatch sums a missing one as 0).
    values = {"Latency": (_MS, latency_ms)}
    if record.predictions:
        values["Predictions"] = (_COUNT, record.predictions)
    if record.frauds:
        values["FraudDecisions"] = (_COUNT, record.frauds)
    metadata: dict[str, Any] = {"request_id": record.request_id}
    if record.model_version:
        metadata["model_version"] = record.model_version
    if status >= 400:
        values["ServerErrors" if status >= 500 else "ClientErrors"] = (_COUNT, 1)
        metadata["status"] = status
    # Powertools' own EMF serializer, fed directly: its add_metric/flush_metrics bookkeeping costs
    # 20-50 µs a request (as much as scoring); the line written is the same.
    _pending.append(
        metrics.serialize_metric_set(
            metrics={name: {"Unit": unit, "StorageResolution": 60, "Value": [float(value)]}
                     for name, (unit, value) in values.items()},
            dimensions={"service": SERVICE, "route": route},
            metadata=metadata,
        )
    )  # fmt: skip

    level = logging.ERROR if status >= 500 else logging.INFO if status >= 400 else logging.DEBUG
    if level >= logger.log_level:
        fields: dict[str, Any] = {
            "request_id": record.request_id,
            "method": record.method,
            "route": route,
            "status": status,
            "latency_ms": round(latency_ms, 3),
            "model_version": record.model_version,
        }
        if record.predictions:
            fields.update(predictions=record.predictions, frauds=record.frauds)
            fields["feature_sets"] = dict(record.feature_sets)
        if record.error_code:
            fields["error_code"] = record.error_code
        log = {logging.ERROR: logger.error, logging.INFO: logger.info}.get(level, logger.debug)
        log("request", extra=fields)


def model_loaded(version: str, *, previous: str | None, seconds: float, feature_sets: list[str]) -> None:
    """Log the swap, and count it under the version's own dimension (which version serves, over time)."""
    with single_metric(name="ModelLoaded", unit=MetricUnit.Count, value=1, namespace=NAMESPACE,
                       default_dimensions={"service": SERVICE, "model_version": version}):  # fmt: skip
        pass
    logger.info(
        "model loaded",
        extra={"model_version": version, "previous_version": previous, "load_seconds": round(seconds, 3),
               "feature_sets": feature_sets},
    )  # fmt: skip


def model_load_failed(
    version: str | None, error: Exception, *, serving: str | None, unexpected: bool = False
) -> None:
    """A warning for a store or artifact error (the last good model keeps serving); an error with the
    traceback for anything else, which is a bug to fix."""
    _load_failed("model", {"model_version": version, "serving_version": serving}, error, unexpected)


def policy_load_failed(
    version: str | None, error: Exception, *, serving: str, unexpected: bool = False
) -> None:
    """The same for the decision policy: the last good one (or the default) keeps deciding."""
    _load_failed("policy", {"policy_version": version, "serving_policy": serving}, error, unexpected)


def _load_failed(what: str, extra: dict[str, Any], error: Exception, unexpected: bool) -> None:
    extra = {**extra, "error": f"{type(error).__name__}: {error}"}
    if unexpected:
        logger.error(f"{what} load failed unexpectedly", extra=extra, exc_info=error)
    else:
        logger.warning(f"{what} load failed", extra=extra)


def flush_metrics() -> None:
    """Write the queued EMF lines (one per request; the handler flushes after every invocation)."""
    if not _pending:
        return
    lines, _pending[:] = list(_pending), []
    if not is_metrics_disabled():
        print("\n".join(json.dumps(line, separators=(",", ":")) for line in lines))


def clear() -> None:
    """Drop queued metric lines (tests)."""
    _pending.clear()
    metrics.clear_metrics()
