"""The msgspec batch decoder accepts exactly the bodies pydantic's BatchRequest accepts, with the same values,
and the shared encoder writes a valid BatchResponse."""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fraud_model.schema import TRANSACTION_TYPES
from fraud_model.scorer import BatchScores
from fraud_model.transaction import Transaction
from lambda_handler import wire
from lambda_handler.schemas import BatchPrediction, BatchRequest, BatchResponse

_SEED = '"amount": 112.0, "oldbalanceOrg": 100.0, "newbalanceOrig": 0.0'


def _one(fields: str) -> str:
    """A batch body of one transaction written as raw JSON members."""
    return '{"transactions": [{' + fields + "}]}"


def _money(amount: str, old: str = "1", new: str = "1") -> str:
    return _one(f'"amount": {amount}, "oldbalanceOrg": {old}, "newbalanceOrig": {new}')


_EDGE_BODIES = {
    "seed": _one(_SEED),
    "integers_as_money": _money("1", "0", "-0"),
    "largest_finite": _money("1.7976931348623157e308"),
    "overflow_to_infinity": _money("1e400"),
    "huge_integer_money": _money("1" + "0" * 400),
    "subnormal_and_underflow": _money("5e-324", "1e-400"),
    "negative_zero": _money("-0.0"),
    "nan": _money("NaN"),
    "infinity": _money("Infinity"),
    "leading_zero": _money("01"),
    "bare_dot": _money("1."),
    "float_step": _one(_SEED + ', "step": 1.0'),
    "exponent_step": _one(_SEED + ', "step": 1e2'),
    "huge_step": _one(_SEED + ', "step": 99999999999999999999999'),
    "boolean_step": _one(_SEED + ', "step": true'),
    "nulls": _one(_SEED + ', "type": null, "step": null, "nameOrig": null'),
    "duplicate_key": _one(_SEED + ', "amount": 5'),
    "name_64_emoji": _one(_SEED + ', "nameOrig": "' + "\U0001f600" * 64 + '"'),
    "name_65_accents": _one(_SEED + ', "nameOrig": "' + "é" * 65 + '"'),
    "name_escaped_pair": _one(_SEED + ', "nameOrig": "\\ud83d\\ude00"'),
    "name_lone_surrogate": _one(_SEED + ', "nameOrig": "\\udc00x"'),
    "name_raw_tab": _one(_SEED + ', "nameOrig": "a\tb"'),
    "name_escaped_nul": _one(_SEED + ', "nameOrig": "a\\u0000b"'),
    "byte_order_mark": "\ufeff" + _one(_SEED),
    "surrounding_space": " \n" + _one(_SEED) + "\t ",
    "trailing_text": _one(_SEED) + " x",
    "empty_batch": '{"transactions": []}',
    "extra_top_level": '{"transactions": [{' + _SEED + '}], "extra": 1}',
    "unknown_field": _one(_SEED + ', "isFraud": 1'),
    "not_an_object": '{"transactions": [[112.0, 100.0, 0.0]]}',
    "empty": "",
}
_ANY_VALUE = st.one_of(
    st.floats(),  # NaN and infinities become NaN / Infinity tokens: not JSON
    st.floats(min_value=0, allow_infinity=False),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.booleans(),
    st.none(),
    st.text(max_size=70),
    st.sampled_from([*TRANSACTION_TYPES, "transfer"]),
    st.lists(st.integers(), max_size=2),
)
_TRANSACTION = st.dictionaries(
    st.sampled_from([*Transaction.model_fields, "isFraud"]), _ANY_VALUE, min_size=2, max_size=10
)


def _pydantic(body: bytes) -> list[dict[str, Any]] | None:
    try:
        return [t.model_dump() for t in BatchRequest.model_validate_json(body).transactions]
    except ValidationError:
        return None


def _msgspec(body: bytes) -> list[dict[str, Any]] | None:
    try:
        return [msgspec.structs.asdict(t) for t in wire.decode_batch(body)]
    except wire.DecodeError:
        return None


def _exactly(value: Any) -> Any:
    """Floats by their bits (-0.0 is not 0.0), everything else as it is."""
    return struct.pack("<d", value) if isinstance(value, float) else (type(value), value)


def _assert_same(body: bytes) -> None:
    ours, reference = _msgspec(body), _pydantic(body)
    assert (ours is None) == (reference is None), (ours, reference)
    if ours is not None and reference is not None:
        assert [{k: _exactly(v) for k, v in t.items()} for t in ours] == [
            {k: _exactly(v) for k, v in t.items()} for t in reference
        ]


def test_wire_transaction_has_the_contracts_fields() -> None:
    fields = msgspec.structs.fields(wire.TransactionWire)
    assert [f.name for f in fields] == list(Transaction.model_fields)
    assert [f.required for f in fields] == [info.is_required() for info in Transaction.model_fields.values()]


@pytest.mark.parametrize("raw", list(_EDGE_BODIES.values()), ids=list(_EDGE_BODIES))
def test_wire_decoder_agrees_with_pydantic_on_edge_bodies(raw: str) -> None:
    _assert_same(raw.encode("utf-8", "surrogatepass"))


@settings(max_examples=400, deadline=None)
@given(transactions=st.lists(_TRANSACTION, min_size=1, max_size=3))
def test_wire_decoder_agrees_with_pydantic_on_any_values(transactions: list[dict[str, Any]]) -> None:
    _assert_same(json.dumps({"transactions": transactions}).encode())


@settings(max_examples=200, deadline=None)
@given(
    amount=st.floats(min_value=0, allow_infinity=False),
    digits=st.text("0123456789", min_size=1, max_size=25),
    exponent=st.integers(-330, 330),
)
def test_wire_decoder_parses_numbers_like_pydantic(amount: float, digits: str, exponent: int) -> None:
    """Both round decimal text to the same double, including long mantissas and extreme exponents."""
    _assert_same(_money(repr(amount), f"0.{digits}e{exponent}", f"{digits}e{exponent}").encode())


def test_wire_response_is_a_batch_response_in_its_field_order() -> None:
    probability = np.array([0.9, 1e-7, 0.5])
    scores = BatchScores(
        fraud_probability=probability,
        is_fraud=probability >= 0.5,
        threshold=np.array([0.5, 0.5, 0.5]),
        feature_set=["full", "origin", "full"],
    )
    matched = [("model_says_fraud",), (), ("model_says_fraud",)]
    body = wire.encode_batch("v1", scores, "default", ["block", "allow", "block"], matched)
    response = BatchResponse.model_validate_json(body)
    assert (response.model_version, response.policy_version) == ("v1", "default")
    assert [p["matched_rules"] for p in response.predictions] == [
        ["model_says_fraud"],
        [],
        ["model_says_fraud"],
    ]
    assert [p["fraud_probability"] for p in response.predictions] == probability.tolist()
    assert [p["confidence"] for p in response.predictions] == [0.9, 1 - 1e-7, 0.5]
    assert [p["is_fraud"] for p in response.predictions] == [True, False, True]
    assert list(json.loads(body)) == list(BatchResponse.model_fields)
    assert list(json.loads(body)["predictions"][0]) == list(BatchPrediction.__annotations__)
    assert not any(math.isnan(p["confidence"]) for p in response.predictions)
