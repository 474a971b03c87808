"""Feature sets: which one a transaction gets, and what the features compute."""

from __future__ import annotations

import numpy as np
import pytest

from fraud_model.features import FULL, ORIGIN, select_feature_set
from fraud_model.schema import REQUIRED_REQUEST_FIELDS, TYPE_CODES


def test_select_feature_set_seed_fields_get_the_origin_model() -> None:
    assert select_feature_set(set(REQUIRED_REQUEST_FIELDS)) is ORIGIN


def test_select_feature_set_all_fields_get_the_full_model() -> None:
    assert select_feature_set(set(FULL.inputs) | {"step"}) is FULL


def test_select_feature_set_type_without_destination_gets_origin() -> None:
    assert select_feature_set({"type", *REQUIRED_REQUEST_FIELDS}) is ORIGIN


def test_select_feature_set_too_few_fields_raises() -> None:
    with pytest.raises(KeyError, match="no feature set"):
        select_feature_set({"amount"})


def _one(**values: float) -> dict[str, np.ndarray]:
    return {name: np.array([value]) for name, value in values.items()}


def test_compute_consistent_balances_give_exactly_zero_error() -> None:
    # 0.1 + 0.2 style float noise must not make a consistent transaction look inconsistent
    row = ORIGIN.compute(_one(amount=0.2, oldbalanceOrg=0.3, newbalanceOrig=0.1))
    assert row[0, ORIGIN.features.index("orig_balance_error")] == 0.0


def test_compute_exact_drain_differs_from_an_overdraw_that_also_zeroes_the_balance() -> None:
    # Fraud moves exactly the balance; PaySim zeroes the balance of legitimate over-balance payments too.
    rows = ORIGIN.compute(_one(amount=500.0, oldbalanceOrg=500.0, newbalanceOrig=0.0))
    overdraw = ORIGIN.compute(_one(amount=600.0, oldbalanceOrg=500.0, newbalanceOrig=0.0))
    ratio, error = ORIGIN.features.index("orig_drain_ratio"), ORIGIN.features.index("orig_balance_error")
    assert (rows[0, ratio], rows[0, error]) == (1.0, 0.0)
    assert (overdraw[0, ratio], overdraw[0, error]) == (pytest.approx(1.2), -100.0)


def test_compute_type_is_one_hot() -> None:
    columns = _one(amount=1.0, oldbalanceOrg=1.0, newbalanceOrig=0.0, oldbalanceDest=0.0, newbalanceDest=1.0)
    columns["type"] = np.array([TYPE_CODES["TRANSFER"]], dtype=np.int8)
    row = FULL.compute(columns)[0]
    flags = {name: row[FULL.features.index(name)] for name in FULL.features if name.startswith("type_")}
    assert flags == {
        "type_CASH_IN": 0,
        "type_CASH_OUT": 0,
        "type_DEBIT": 0,
        "type_PAYMENT": 0,
        "type_TRANSFER": 1,
    }


def test_compute_zero_balance_ratio_is_bounded() -> None:
    row = ORIGIN.compute(_one(amount=1e9, oldbalanceOrg=0.0, newbalanceOrig=0.0))
    assert np.isfinite(row).all()


def test_compute_missing_input_raises() -> None:
    with pytest.raises(KeyError, match="needs columns"):
        FULL.compute(_one(amount=1.0, oldbalanceOrg=1.0, newbalanceOrig=0.0))
