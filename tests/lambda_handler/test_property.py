"""Whatever a client sends, the answer is never a 5xx and always JSON in one of the documented shapes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraud_model.store import LocalStore
from lambda_handler.handler import handler
from tests.lambda_handler.gateway_events import Context, http_api

_JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=15), children, max_size=5)
    ),
    max_leaves=20,
)
_FIELDS = st.sampled_from(["amount", "oldbalanceOrg", "newbalanceOrig", "type", "oldbalanceDest", "step"])
_NEAR_TRANSACTIONS = st.dictionaries(_FIELDS, _JSON, max_size=6)  # right names, arbitrary values
_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _assert_documented(response: dict[str, Any]) -> None:
    assert response["statusCode"] < 500, response
    assert response["headers"]["content-type"] == "application/json"
    answer = json.loads(response["body"])
    if response["statusCode"] >= 400:
        assert {"code", "message", "request_id", "details"} <= answer["error"].keys()


@_SETTINGS
@given(body=_JSON | _NEAR_TRANSACTIONS, path=st.sampled_from(["/predict", "/predict/batch"]))
def test_property_arbitrary_json_never_gets_a_5xx(
    body: Any, path: str, store: LocalStore, context: Context
) -> None:
    _assert_documented(handler(http_api(path=path, body=body), context))


@_SETTINGS
@given(transactions=st.lists(_NEAR_TRANSACTIONS, max_size=5))
def test_property_arbitrary_batches_never_get_a_5xx(
    transactions: list[Any], store: LocalStore, context: Context
) -> None:
    _assert_documented(handler(http_api(path="/predict/batch", body={"transactions": transactions}), context))


@_SETTINGS
@given(
    raw=st.text(max_size=200),
    content_type=st.sampled_from(["application/json", "text/plain", "", "a/b+json"]),
)
def test_property_arbitrary_text_never_gets_a_5xx(
    raw: str, content_type: str, store: LocalStore, context: Context
) -> None:
    _assert_documented(handler(http_api(raw_body=raw, headers={"content-type": content_type}), context))
