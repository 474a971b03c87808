"""The handler's fast path answers exactly what Mangum + FastAPI answer, and leaves them everything else."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraud_model.schema import TRANSACTION_TYPES
from fraud_model.store import LocalStore
from lambda_handler import fast_path
from lambda_handler.handler import get_adapter
from tests.lambda_handler.gateway_events import SEED, Context, http_api, rest_api

_MONEY = st.one_of(
    st.floats(min_value=0, max_value=1e9, allow_nan=False),
    st.integers(min_value=0, max_value=10**9),
    st.sampled_from([0.0, 0.01, 112.0, -1.0, 1e300, True, "12", None]),  # the edges and some mistakes
)
_TRANSACTIONS = st.fixed_dictionaries(
    {"amount": _MONEY, "oldbalanceOrg": _MONEY, "newbalanceOrig": _MONEY},
    optional={
        "type": st.sampled_from([*TRANSACTION_TYPES, "WIRE", None]),
        "oldbalanceDest": _MONEY,
        "newbalanceDest": _MONEY,
        "step": st.one_of(st.integers(min_value=-1, max_value=800), st.just(1.5)),
        "nameOrig": st.one_of(st.just("C1231006815"), st.integers()),
        "isFraud": st.integers(0, 1),
    },
)
_SLOW = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _check_same_answer(event: dict[str, Any], context: Context) -> None:
    """The fast path answers exactly the events the app answers with 200, with the same response."""
    ours = fast_path.serve(json.loads(json.dumps(event)))
    app = get_adapter()(json.loads(json.dumps(event)), context)
    assert (ours is not None) == (app["statusCode"] == 200)
    if ours is not None:
        assert ours == app  # status, headers (content-type, request id), body bytes


@_SLOW
@given(transaction=_TRANSACTIONS, rest=st.booleans())
def test_fast_path_answers_predict_like_the_app(
    transaction: dict[str, Any], rest: bool, store: LocalStore, context: Context
) -> None:
    _check_same_answer(rest_api(body=transaction) if rest else http_api(body=transaction), context)


@_SLOW
@given(transactions=st.lists(_TRANSACTIONS, max_size=6))
def test_fast_path_answers_batches_like_the_app(
    transactions: list[dict[str, Any]], store: LocalStore, context: Context
) -> None:
    _check_same_answer(http_api(path="/predict/batch", body={"transactions": transactions}), context)


def test_fast_path_serves_the_seed_request(store: LocalStore) -> None:
    response = fast_path.serve(http_api())
    assert response is not None and response["statusCode"] == 200


@pytest.mark.parametrize(
    "event",
    [
        http_api(query="explain=true"),
        http_api(raw_body='{"amount": "12"}'),
        http_api(headers={"content-type": "text/plain"}),
        http_api("GET", "/health", body=None),
        http_api(path="/predict/batch", body={"transactions": [SEED] * 3, "extra": 1}),
    ],
    ids=["query_string", "invalid_body", "not_json", "other_route", "invalid_batch"],
)
def test_fast_path_leaves_other_events_to_the_app(event: dict[str, Any], store: LocalStore) -> None:
    assert fast_path.serve(event) is None


def test_fast_path_leaves_a_missing_model_to_the_app(empty_store: LocalStore) -> None:
    assert fast_path.serve(http_api()) is None


def test_fast_path_answers_without_importing_fastapi(store: LocalStore) -> None:
    script = (
        "import json, sys\n"
        "from lambda_handler.handler import handler\n"
        f"response = handler(json.loads({json.dumps(json.dumps(http_api()))}), None)\n"
        "assert response['statusCode'] == 200, response\n"
        "print(json.dumps(sorted(m for m in ('fastapi', 'starlette', 'mangum') if m in sys.modules)))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(run.stdout.splitlines()[-1]) == []
