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


CLAUSES = (
    "amount >= 0.9 * oldbalanceOrg",
    "oldbalanceOrg - amount < 1",
    "newbalanceDest == oldbalanceDest + amount",
    "oldbalanceDest != 0",
    "-1 < step - 2 <= 5",
    "type in ('TRANSFER', 'CASH_OUT')",
    "type not in ('PAYMENT',)",
    "nameDest in lists.blocked_dest",
    "nameOrig not in lists.trusted",
    "nameOrig == 'C1'",
    "probability >= 0.3",
    "is_fraud",
    "is_fraud == False",
    "feature_set == 'full'",
    "nameOrig == nameDest",
    "type != 'CASH_OUT'",
    "'PAYMENT' == type",
    "-amount < -50",
    "amount in (90.0, 100)",
    "nameDest in ('M1', 'C2')",
    "feature_set in ('origin',)",
)
# allowed, never useful, and left to numpy by the compiled evaluator: coded fields as text
TEXT_CLAUSES = ("type == nameOrig", "type in lists.trusted", "type == feature_set")


def _random_expression(rng: np.random.Generator, depth: int = 0, clauses: tuple[str, ...] = CLAUSES) -> str:
    if depth > 2 or rng.random() < 0.4:
        return str(clauses[rng.integers(len(clauses))])
    if rng.random() < 0.2:
        return f"not ({_random_expression(rng, depth + 1)})"
    joiner = " and " if rng.random() < 0.5 else " or "
    return joiner.join(f"({_random_expression(rng, depth + 1, clauses)})" for _ in range(rng.integers(2, 4)))


def _random_rows(rng: np.random.Generator, n: int, absent: float = 0.3) -> dict[str, list[Any]]:
    def maybe(values: list[Any]) -> list[Any]:  # optional fields: absent in a share of the rows
        return [None if rng.random() < absent else v for v in values]

    amount = rng.choice([0.0, 1.0, 90.0, 100.0, 5e3], n).tolist()
    return {
        "amount": amount,
        "oldbalanceOrg": rng.choice([0.0, 100.0, 5e3], n).tolist(),
        "newbalanceOrig": rng.choice([0.0, 10.0], n).tolist(),
        "oldbalanceDest": maybe(rng.choice([0.0, 3.0], n).tolist()),
        "newbalanceDest": maybe(rng.choice([0.0, 3.0, 93.0, 100.0], n).tolist()),
        "step": maybe(rng.integers(0, 9, n).tolist()),
        "type": maybe(rng.choice(["TRANSFER", "CASH_OUT", "PAYMENT"], n).tolist()),
        "nameOrig": maybe(rng.choice(["C1", "C2", "C3"], n).tolist()),
        "nameDest": maybe(rng.choice(["C1", "C2", "M1"], n).tolist()),
        "probability": rng.choice([0.0, 0.3, 0.9], n).tolist(),
        "is_fraud": (rng.random(n) < 0.3).tolist(),
        "feature_set": rng.choice(["full", "origin"], n).tolist(),
    }


@pytest.mark.parametrize("seed", [*range(19), 20, 21, 22])
def test_policy_columns_decide_exactly_as_each_transaction_alone(seed: int) -> None:
    """Random policies over columns (both modes, absent fields or none, lists, arithmetic, chains, up to 60
    rules), in the compiled evaluator and in numpy: every row gets the outcome and matched rules the
    one-transaction form gives it."""
    from fraud_model import rulecode
    from fraud_model.columnar import columns

    rng = np.random.default_rng(seed)
    outcomes = ["allow", "review", "block"]
    clauses = CLAUSES + TEXT_CLAUSES if seed >= 16 else CLAUSES
    rules = [
        {"id": f"r{i}", "expression": _random_expression(rng, clauses=clauses),
         "outcome": str(rng.choice(outcomes))}
        for i in range(60 if seed == 0 else int(rng.integers(1, 12)))
    ]  # fmt: skip
    policy = _policy(str(rng.choice(["first_matched", "all_matched"])) if seed else "all_matched", rules)
    values = _random_rows(rng, 300, absent=0.3 if seed % 2 else 0.0)
    cols = columns(values, policy.variables | {"is_fraud"})
    if seed < 16:  # every construct but coded fields as text runs compiled where the evaluator is built
        assert (policy.program.compiled is not None) == rulecode.AVAILABLE
    engines = [policy.program.run(cols, LISTS), policy.program.run(cols, LISTS, compiled=False)]
    assert np.array_equal(engines[0], engines[1])
    decisions = policy.resolve(engines[0])
    for i in range(300):
        one = policy.decide({name: column[i] for name, column in values.items()}, LISTS)
        assert (decisions.outcome[i], decisions.matched[i]) == (one.outcome, one.matched), rules
    assert len(set(decisions.matched)) > 1  # rows differ: the comparison is not vacuous


def test_policy_arithmetic_compares_shares_of_the_balance() -> None:
    policy = _policy(
        "first_matched",
        [
            {
                "id": "near_drain",
                "expression": "amount >= 0.95 * oldbalanceOrg and amount < oldbalanceOrg",
                "outcome": "review",
            }
        ],  # fmt: skip
    )
    assert policy.decide({**TRANSFER, "amount": 4900.0}, LISTS).outcome == "review"
    assert policy.decide({**TRANSFER, "amount": 5000.0}, LISTS).outcome == "allow"
    assert policy.decide({**TRANSFER, "amount": 100.0}, LISTS).outcome == "allow"


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("amount / oldbalanceOrg > 0.9", "Div is not allowed"),
        ("amount > 1e400", "beyond the largest number"),
        ("amount * 10000000000000000000000 > 1", "beyond the largest number"),
        ("type + 'x' == 'y'", "need numbers"),
        ("-type == 'x'", "need a number"),
        ("amount ** 2 > 1", "Pow is not allowed"),
    ],
)
def test_policy_arithmetic_outside_plus_minus_times_on_numbers_is_refused(
    expression: str, reason: str
) -> None:
    with pytest.raises(PolicyError, match=re.escape(reason)):
        compile_policy({"rules": [{"id": "r1", "expression": expression, "outcome": "block"}]})
