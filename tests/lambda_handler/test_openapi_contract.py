"""The app against its own OpenAPI document (schemathesis): generated valid and invalid requests for every
operation, with every check (no 5xx, status codes, content types and headers that the document declares,
bodies that match their schemas, invalid input refused), repeatable (derandomized, no example database)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from fraud_model.store import LocalStore
from lambda_handler.app import create_app

EXAMPLES = 250  # per operation and mode (about 20 s in all)


def _cases() -> list[tuple[str, GenerationMode]]:
    """Every operation with valid data; those that take input (a body, a query) with invalid data too."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
    cases = []
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        cases.append((label, GenerationMode.POSITIVE))
        if len(operation.body) or len(operation.query):
            cases.append((label, GenerationMode.NEGATIVE))
    return cases


@pytest.mark.slow
@pytest.mark.parametrize(("operation", "mode"), _cases(), ids=lambda value: getattr(value, "value", value))
def test_openapi_contract_holds_for_generated_requests(
    store: LocalStore, operation: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
    method, path = operation.split(" ", 1)
    (found,) = [op.ok() for op in schema.get_all_operations() if op.ok().method.upper() == method
                and op.ok().path == path]  # fmt: skip

    @given(case=found.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate()

    check()


def test_openapi_document_declares_the_limits_and_the_400() -> None:
    document = create_app().openapi()
    batch = document["components"]["schemas"]["BatchRequest"]["properties"]["transactions"]
    assert batch["maxItems"] == 1000 and batch["minItems"] == 1
    for path in ("/predict", "/predict/batch"):
        assert {"400", "413", "415", "422", "503"} <= document["paths"][path]["post"]["responses"].keys()
    step = document["components"]["schemas"]["Transaction"]["properties"]["step"]["anyOf"][0]
    assert step["type"] == "integer" and step["minimum"] == 0
    value = document["components"]["schemas"]["Reason"]["properties"]["value"]
    assert {"type": "null"} in value["anyOf"]
