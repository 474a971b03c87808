"""Mangum's API Gateway handlers, taught the stage prefix: the app sees `/predict` under root_path `/prod`."""

from __future__ import annotations

from mangum.handlers import APIGateway, HTTPGateway
from mangum.types import LambdaHandler, Scope

from lambda_handler import events


def _with_root_path(scope: Scope, event: events.Event) -> Scope:
    root, path = events.split_path(event)
    scope["root_path"] = root
    scope["path"] = root + path  # ASGI: path includes root_path; Starlette routes on what follows it
    return scope


class RestApiGateway(APIGateway):
    """REST APIs (payload 1.0)."""

    @property
    def scope(self) -> Scope:
        return _with_root_path(super().scope, self.event)


class HttpApiGateway(HTTPGateway):
    """HTTP APIs (payload 1.0 and 2.0)."""

    @property
    def scope(self) -> Scope:
        return _with_root_path(super().scope, self.event)


# Mangum tries custom handlers first, in this order (HTTP APIs' payload 1.0 also has a `resource`).
HANDLERS: list[type[LambdaHandler]] = [HttpApiGateway, RestApiGateway]
