"""API Gateway's own errors (no key, throttled, unknown route, invalid body) in the API's one error shape.

Without these, a client gets `{"message": "Forbidden"}` from the gateway and `{"error": {...}}` from the
function. `$context.error.messageString` is already a quoted JSON string; `$context.requestId` is the id the
function reports as `request_id` for requests that reach it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_apigateway as apigw

from infra.config import ApiAuth

GATEWAY_MESSAGE = "$context.error.messageString"
REQUEST_ID = "$context.requestId"


@dataclass(frozen=True)
class GatewayError:
    """How one gateway response type is answered: status, the API's error code, message and details."""

    status: str | None  # None: the type's own status (DEFAULT_4XX / DEFAULT_5XX cover several)
    code: str
    message: str = GATEWAY_MESSAGE  # JSON: a quoted string, or the gateway's (already quoted) message
    details: str = "[]"  # JSON

    def template(self) -> str:
        return (
            f'{{"error": {{"code": "{self.code}", "message": {self.message}, '
            f'"request_id": "{REQUEST_ID}", "details": {self.details}}}}}'
        )


def gateway_errors(auth: ApiAuth) -> dict[str, GatewayError]:
    """The gateway responses the API overrides, by response type."""
    # With API keys, a missing "token" only means no method matched; with IAM it may be a missing signature.
    no_route = GatewayError("404", "not_found", '"no route for this method and path"')
    if auth == "iam":
        no_route = GatewayError("403", "forbidden", '"missing SigV4 signature, or no such route"')
    return {
        "MISSING_AUTHENTICATION_TOKEN": no_route,
        "BAD_REQUEST_BODY": GatewayError(
            "422",
            "validation_error",
            '"request validation failed"',
            '[{"field": "body", "reason": "the body must be a JSON object"}]',
        ),
        "INVALID_API_KEY": GatewayError("403", "forbidden", '"missing or invalid API key (x-api-key)"'),
        "ACCESS_DENIED": GatewayError("403", "forbidden"),
        "INVALID_SIGNATURE": GatewayError("403", "forbidden"),
        "EXPIRED_TOKEN": GatewayError("403", "forbidden"),
        "THROTTLED": GatewayError("429", "throttled"),
        "QUOTA_EXCEEDED": GatewayError("429", "quota_exceeded"),
        "REQUEST_TOO_LARGE": GatewayError("413", "payload_too_large"),
        "UNSUPPORTED_MEDIA_TYPE": GatewayError("415", "unsupported_media_type"),
        "INTEGRATION_TIMEOUT": GatewayError("504", "timeout"),
        "DEFAULT_4XX": GatewayError(None, "client_error"),
        "DEFAULT_5XX": GatewayError(None, "internal_error"),
    }


def add_gateway_errors(api: apigw.RestApi, auth: ApiAuth) -> None:
    """Answer every gateway-made error as JSON in the API's error shape."""
    for response_type, error in gateway_errors(auth).items():
        api.add_gateway_response(
            f"Gateway{response_type.title().replace('_', '')}",
            type=apigw.ResponseType.of(response_type),
            status_code=error.status,
            response_headers={"Content-Type": "'application/json'"},
            templates={"application/json": error.template()},
        )
