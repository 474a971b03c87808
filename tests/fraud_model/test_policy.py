"""The policy language: checked and compiled once, refused with the rule, position and reason, evaluated
in either mode with Stripe Radar's precedence, lists as sets, absent fields false."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from fraud_model.policy import DEFAULT_POLICY, PolicyError, compile_policy
from fraud_model.schema import TYPE_CODES
from fraud_model.store import LocalStore
from tests.factory import generated_columns, publish_tiny_version

TRANSFER = {
    "amount": 5000.0, "oldbalanceOrg": 5000.0, "newbalanceOrig": 0.0, "oldbalanceDest": None,
    "newbalanceDest": None, "step": None, "type": "TRANSFER", "nameOrig": "C1", "nameDest": "C2",
    "probability": 0.5, "is_fraud": False, "feature_set": "origin",
}  # fmt: skip
LISTS = {"blocked_dest": frozenset({"C2"}), "trusted": frozenset({"C1"})}
RULES = [
    {"id": "trusted", "expression": "nameOrig in lists.trusted", "outcome": "allow"},
    {"id": "blocked", "expression": "nameDest in lists.blocked_dest", "outcome": "block"},
    {
        "id": "big",
        "expression": "probability >= 0.2 and type == 'TRANSFER' and amount > 1000",
        "outcome": "review",
    },
]


def _policy(mode: str = "all_matched", rules: list[dict[str, Any]] = RULES) -> Any:
    return compile_policy({"mode": mode, "lists": ["blocked_dest", "trusted"], "rules": rules})


def test_policy_all_matched_allow_list_wins_over_block_list_wins_over_review() -> None:
    policy = _policy()
    assert policy.decide(TRANSFER, LISTS).outcome == "allow"
    assert policy.decide({**TRANSFER, "nameOrig": "C9"}, LISTS).outcome == "block"
    assert policy.decide({**TRANSFER, "nameOrig": "C9", "nameDest": "X"}, LISTS).outcome == "review"
    assert policy.decide(TRANSFER, LISTS).matched == ("trusted", "blocked", "big")


def test_policy_first_matched_takes_the_first_rule_in_order() -> None:
    policy = _policy("first_matched", [RULES[2], RULES[1], RULES[0]])
    decision = policy.decide(TRANSFER, LISTS)
    assert (decision.outcome, decision.matched) == ("review", ("big",))


def test_policy_absent_fields_make_their_comparisons_false() -> None:
    policy = _policy()
    decision = policy.decide({**TRANSFER, "nameOrig": None, "nameDest": None, "type": None}, LISTS)
    assert (decision.outcome, decision.matched) == ("allow", ())  # the default outcome


def test_policy_list_changes_apply_without_recompiling() -> None:
    policy = _policy()
    assert (
        policy.decide({**TRANSFER, "nameOrig": "C9"}, {**LISTS, "blocked_dest": frozenset()}).outcome
        == "review"
    )


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("amount > 'x'", "column 1: compares a number with a string"),
        ("foo > 1", "column 1: unknown field 'foo'"),
        ("amount >", "does not parse"),
        ("nameDest in lists.nope", "column 13: unknown list 'nope'"),
        ("__import__('os').system('x')", "Call is not allowed"),
        ("amount.real > 1", "Attribute is not allowed"),
        ("type < 'A'", "only numbers can be < or >"),
        ("amount", "not true or false"),
        ("amount in lists.blocked_dest", "needs a string field"),
        ("(lambda: 1)() == 1", "not allowed"),
    ],
)
def test_policy_invalid_expression_is_refused_naming_rule_position_and_reason(
    expression: str, reason: str
) -> None:
    with pytest.raises(PolicyError, match="rule 'r1'") as refused:
        compile_policy(
            {"lists": ["blocked_dest"], "rules": [{"id": "r1", "expression": expression, "outcome": "block"}]}
        )
    assert reason in str(refused.value)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"outcomes": ["allow", "block"]}, "must include ['review']"),
        ({"mode": "random"}, "mode must be"),
        ({"default_outcome": "maybe"}, "default_outcome"),
        ({"rules": [{"id": "a", "expression": "is_fraud", "outcome": "hold"}]}, "outcome 'hold'"),
        ({"rules": [{"id": "a", "expression": "is_fraud", "outcome": "block"}] * 2}, "used twice"),
        ({"rules": [{"expression": "is_fraud", "outcome": "block"}]}, "no id"),
        ({"colour": "red"}, "unknown keys"),
    ],
)
def test_policy_invalid_document_is_refused(document: dict[str, Any], reason: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(reason)):
        compile_policy(document)


def test_policy_default_reproduces_the_models_verdict(tmp_path: Any) -> None:
    """Block exactly what the model calls fraud, allow the rest, on generated transactions."""
    from fraud_model.artifact import load_version
    from fraud_model.scorer import Scorer

    store = LocalStore(tmp_path)
    scorer = Scorer(load_version(store, publish_tiny_version(store, rounds=5)))
    columns = generated_columns(2_000, seed=4)
    names = {code: name for name, code in TYPE_CODES.items()}
    records = [{name: values[i].item() for name, values in columns.items()} for i in range(2_000)]
    for record in records:
        record["type"] = names[record["type"]]
    policy = compile_policy(DEFAULT_POLICY)
    for record, score in zip(records, scorer.score_records(records), strict=True):
        variables = {**dict.fromkeys(("step", "type", "nameOrig", "nameDest")), **record,
                     "probability": score.fraud_probability, "is_fraud": score.is_fraud,
                     "feature_set": score.feature_set}  # fmt: skip
        assert policy.decide(variables, {}).outcome == ("block" if score.is_fraud else "allow")
    assert np.any([s.is_fraud for s in scorer.score_records(records)])


def test_policy_example_in_the_docs_compiles() -> None:
    import json
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "decisions.md").read_text()
    example = re.search(r"```json\n(.*?)```", text, re.DOTALL)
    assert example is not None
    policy = compile_policy(json.loads(example.group(1)))
    assert [rule.id for rule in policy.rules] == ["trusted", "mule", "model", "near_drain"]
