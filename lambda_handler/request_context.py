"""What one request carries from arrival to its log line: request id, route, model version, decisions."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field

REQUEST_ID_HEADER = "x-request-id"
# A client's request id is echoed in headers and logs, so only a plain token is accepted.
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def resolve_request_id(gateway_request_id: object, header_value: str | None) -> str:
    """API Gateway's requestContext.requestId, else a well-formed X-Request-Id, else a new id."""
    if isinstance(gateway_request_id, str) and gateway_request_id:
        return gateway_request_id
    if header_value and _CLIENT_REQUEST_ID.fullmatch(header_value):
        return header_value
    return uuid.uuid4().hex


@dataclass(slots=True)
class RequestRecord:
    """Filled in while a request is served; observability turns it into one log line and metrics."""

    request_id: str
    method: str
    path: str
    started: float = field(default_factory=time.perf_counter)
    route: str | None = None  # the matched route template; None for unknown paths
    model_version: str | None = None
    feature_sets: dict[str, int] = field(default_factory=dict)  # transactions scored per feature set
    predictions: int = 0
    frauds: int = 0
    error_code: str | None = None

    def scored(self, model_version: str, feature_sets: list[str], frauds: int) -> None:
        self.model_version = model_version
        self.predictions += len(feature_sets)
        self.frauds += frauds
        for name in set(feature_sets) if len(feature_sets) > 1 else feature_sets:
            self.feature_sets[name] = self.feature_sets.get(name, 0) + feature_sets.count(name)
