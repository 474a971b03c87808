"""The Scorer's fast paths (`score_one`, `score_lists`) give what `score_records` gives, bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraud_model import artifact
from fraud_model.features import FULL, ORIGIN
from fraud_model.rows import OneRow, records_to_columns
from fraud_model.schema import TRANSACTION_TYPES
from fraud_model.scorer import Scorer
from fraud_model.store import LocalStore

_MONEY = st.one_of(st.floats(min_value=0, max_value=1e12, allow_nan=False), st.sampled_from([0.0, 0.01, 1.0]))
_RECORDS = st.fixed_dictionaries(
    {"amount": _MONEY, "oldbalanceOrg": _MONEY, "newbalanceOrig": _MONEY},
    optional={"type": st.sampled_from(TRANSACTION_TYPES), "oldbalanceDest": _MONEY, "newbalanceDest": _MONEY},
)
_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def scorer(reference: tuple[LocalStore, str]) -> Scorer:
    return Scorer(artifact.load_version(*reference))


@_SETTINGS
@given(record=_RECORDS)
def test_scorer_score_one_equals_score_records(record: dict[str, Any], scorer: Scorer) -> None:
    assert scorer.score_one(record) == scorer.score_records([record])[0]


@_SETTINGS
@given(records=st.lists(_RECORDS, min_size=1, max_size=40))
def test_scorer_score_lists_equals_score_records(records: list[dict[str, Any]], scorer: Scorer) -> None:
    fields = ("type", "amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest")
    scores = scorer.score_lists({name: [r.get(name) for r in records] for name in fields})
    expected = scorer.score_records(records)
    assert scores.fraud_probability.tolist() == [s.fraud_probability for s in expected]
    assert scores.is_fraud.tolist() == [s.is_fraud for s in expected]
    assert scores.feature_set == [s.feature_set for s in expected]


@_SETTINGS
@given(record=_RECORDS.filter(lambda r: {"type", "oldbalanceDest", "newbalanceDest"} <= r.keys()))
def test_scorer_one_row_features_equal_compute(record: dict[str, Any]) -> None:
    for feature_set in (FULL, ORIGIN):
        expected = feature_set.compute(records_to_columns([record], feature_set.inputs))
        np.testing.assert_array_equal(OneRow(feature_set).features(record), expected)


def test_scorer_one_row_uses_numpy_scalars_for_the_declared_features() -> None:
    assert OneRow(FULL).scalar_ok and OneRow(ORIGIN).scalar_ok
