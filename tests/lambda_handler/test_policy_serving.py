"""The decision policy in the answers: the default reproduces the model's verdict; a published policy and its
lists decide, picked up within the TTL; a broken policy keeps the last good one; single and batch agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fraud_model import policy_store
from fraud_model.store import LocalStore
from lambda_handler.handler import handler
from tests.lambda_handler.gateway_events import FULL, SEED, Context, body_of, http_api

POLICY = {
    "mode": "all_matched",
    "lists": ["blocked_dest"],
    "rules": [
        {"id": "mule", "expression": "nameDest in lists.blocked_dest", "outcome": "block"},
        {"id": "transfer", "expression": "type == 'TRANSFER' and amount > 1000", "outcome": "review"},
    ],
}
TRANSACTIONS = [SEED, FULL, {**FULL, "nameDest": "C000"}, {**FULL, "amount": 10.0, "type": "PAYMENT"}]


def _predict(context: Context, body: dict[str, object]) -> dict[str, object]:
    response = handler(http_api(body=body), context)
    assert response["statusCode"] == 200, response
    answer: dict[str, object] = body_of(response)
    return answer


def _batch(context: Context) -> list[dict[str, object]]:
    response = handler(http_api(path="/predict/batch", body={"transactions": TRANSACTIONS}), context)
    assert response["statusCode"] == 200, response
    predictions: list[dict[str, object]] = body_of(response)["predictions"]
    return predictions


def test_policy_default_is_the_models_verdict(store: LocalStore, context: Context) -> None:
    for transaction in TRANSACTIONS:
        answer = _predict(context, transaction)
        assert answer["outcome"] == ("block" if answer["is_fraud"] else "allow")
        assert answer["policy_version"] == "default"
        assert answer["matched_rules"] == (["model_says_fraud"] if answer["is_fraud"] else [])
    assert [p["outcome"] for p in _batch(context)] == [_predict(context, t)["outcome"] for t in TRANSACTIONS]


def test_policy_published_with_a_list_decides_single_and_batch_alike(
    store: LocalStore, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_POINTER_TTL_SECONDS", "0")
    version = policy_store.publish_policy(store, POLICY)
    policy_store.change_list(store, "blocked_dest", add=["C000"])
    single = [_predict(context, t) for t in TRANSACTIONS]
    assert [a["outcome"] for a in single] == ["allow", "review", "block", "allow"]
    assert single[2]["matched_rules"] == ["mule", "transfer"] and single[2]["policy_version"] == version
    batch = _batch(context)
    assert [(p["outcome"], p["matched_rules"]) for p in batch] == [
        (a["outcome"], a["matched_rules"]) for a in single
    ]


def test_policy_list_change_is_picked_up_within_the_ttl(
    store: LocalStore, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_POINTER_TTL_SECONDS", "0")
    policy_store.publish_policy(store, POLICY)
    assert _predict(context, {**FULL, "nameDest": "C000"})["outcome"] == "review"
    policy_store.change_list(store, "blocked_dest", add=["C000"])  # no new policy
    assert _predict(context, {**FULL, "nameDest": "C000"})["outcome"] == "block"


def test_policy_that_fails_verification_keeps_the_last_good_one(
    store: LocalStore, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_POINTER_TTL_SECONDS", "0")
    good = policy_store.publish_policy(store, POLICY)
    assert _predict(context, FULL)["policy_version"] == good
    bad = policy_store.publish_policy(store, {**POLICY, "mode": "first_matched"}, make_current=False)
    (Path(store.uri) / "policies" / bad / "policy.json").write_text(json.dumps({"rules": "nonsense"}))
    (Path(store.uri) / "policies" / "CURRENT").write_text(json.dumps({"version": bad}))
    answer = _predict(context, FULL)
    assert (answer["policy_version"], answer["outcome"]) == (good, "review")


def test_policy_route_shows_the_active_policy(store: LocalStore, context: Context) -> None:
    version = policy_store.publish_policy(store, POLICY)
    policy_store.change_list(store, "blocked_dest", add=["C1", "C2"])
    response = handler(http_api("GET", "/policy", None), context)
    answer = body_of(response)
    assert response["statusCode"] == 200
    assert (answer["version"], answer["policy"], answer["list_sizes"]) == (
        version,
        POLICY,
        {"blocked_dest": 2},
    )
