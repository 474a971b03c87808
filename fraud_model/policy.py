"""The decision policy's language: named outcomes, ordered rules of one boolean expression each, lists, and an
execution mode, checked and compiled once (never at request time), then evaluated per transaction.

Expressions are a small, typed subset of Python's expression syntax, parsed with `ast` and refused unless
every node is on a whitelist: `and`, `or`, `not`, comparisons (`==` `!=` `<` `<=` `>` `>=` `in` `not in`),
numbers, strings, booleans, tuples of constants, variables, and list membership as `field in lists.NAME`. The
variables are the transaction's fields, the model's `probability`, `is_fraud` and `feature_set`. A comparison
with a field the transaction does not carry is false. A checked expression compiles to Python bytecode, run
with no builtins (measured here: ~0.2 µs for a three-clause rule, against 1.5 µs for simpleeval and 14 µs for
compiled CEL).

This module is the contract's part of issue 11 (decisions); the store, the API and the CLI build on it.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from types import CodeType
from typing import Any, Literal

import numpy as np

from fraud_model.errors import InputError

Kind = Literal["number", "string", "boolean"]
Mode = Literal["first_matched", "all_matched"]
REQUIRED_OUTCOMES = ("allow", "review", "block")
DEFAULT_PRECEDENCE = ("allow", "block", "review")
_POLICY_KEYS = {"outcomes", "precedence", "mode", "default_outcome", "rules", "lists", "description"}
LISTS = "lists"

# Every variable an expression may name, with its kind, and whether a transaction may lack it.
VARIABLES: dict[str, tuple[Kind, bool]] = {
    "amount": ("number", False),
    "oldbalanceOrg": ("number", False),
    "newbalanceOrig": ("number", False),
    "oldbalanceDest": ("number", True),
    "newbalanceDest": ("number", True),
    "step": ("number", True),
    "type": ("string", True),
    "nameOrig": ("string", True),
    "nameDest": ("string", True),
    "probability": ("number", False),
    "is_fraud": ("boolean", False),
    "feature_set": ("string", False),
}
_NO_BUILTINS: dict[str, Any] = {"__builtins__": {}}
_COMPARISONS = {ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn}
_ORDERING = {ast.Lt, ast.LtE, ast.Gt, ast.GtE}


class PolicyError(InputError):
    """A policy that cannot serve: the rule, the position in its expression, and the reason."""

    def __init__(self, reason: str, *, rule: str | None = None, column: int | None = None) -> None:
        where = f"rule {rule!r}" if rule else "policy"
        if column is not None:
            where += f", column {column + 1}"
        super().__init__(f"{where}: {reason}")
        self.rule, self.column, self.reason = rule, column, reason


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    expression: str
    outcome: str
    code: CodeType


@dataclass(frozen=True)
class Decision:
    outcome: str
    matched: tuple[str, ...]  # rule ids, in rule order


@dataclass(frozen=True)
class Policy:
    """A checked, compiled policy: `decide` is the only thing requests call."""

    outcomes: tuple[str, ...]
    precedence: tuple[str, ...]  # `all_matched`: the first of these among the matched rules' outcomes wins
    mode: Mode
    default_outcome: str
    rules: tuple[Rule, ...]
    lists: tuple[str, ...]

    @cached_property
    def verdict_only(self) -> tuple[str, str, str] | None:
        """(rule id, outcome when the model says fraud, otherwise) when the policy only follows the model's
        verdict (the default policy): batches are then decided with one numpy call."""
        if len(self.rules) == 1 and self.rules[0].expression.strip() == "is_fraud":
            return self.rules[0].id, self.rules[0].outcome, self.default_outcome
        return None

    def decide_many(
        self,
        rows: Sequence[Mapping[str, Any]],
        is_fraud: np.ndarray,
        lists: Mapping[str, frozenset[str]],
    ) -> tuple[list[str], list[tuple[str, ...]]]:
        """Outcomes and matched rule ids for many transactions (each row: its variables)."""
        verdict = self.verdict_only
        if verdict is not None:
            rule, fraud, otherwise = verdict
            outcomes = np.where(is_fraud, fraud, otherwise).tolist()
            return outcomes, [(rule,) if flag else () for flag in is_fraud.tolist()]
        decisions = [self.decide(row, lists) for row in rows]
        return [d.outcome for d in decisions], [d.matched for d in decisions]

    def decide(self, variables: Mapping[str, Any], lists: Mapping[str, frozenset[str]]) -> Decision:
        """The outcome for one transaction's variables (absent fields: None) and the current lists."""
        scope = {**variables, **{f"__list_{name}": lists.get(name, frozenset()) for name in self.lists}}
        if self.mode == "first_matched":  # evaluated in order, up to the first match
            for rule in self.rules:
                if eval(rule.code, _NO_BUILTINS, scope):  # noqa: S307 - checked, whitelisted bytecode
                    return Decision(rule.outcome, (rule.id,))
            return Decision(self.default_outcome, ())
        matched = [rule for rule in self.rules if eval(rule.code, _NO_BUILTINS, scope)]  # noqa: S307
        if not matched:
            return Decision(self.default_outcome, ())
        hit = {rule.outcome for rule in matched}
        return Decision(next(o for o in self.precedence if o in hit), tuple(rule.id for rule in matched))


def compile_policy(document: Mapping[str, Any]) -> Policy:
    """Check a policy document (parsed JSON) and compile its rules; PolicyError names what is wrong."""
    if not isinstance(document, Mapping):
        raise PolicyError("a policy is a JSON object")
    unknown = set(document) - _POLICY_KEYS
    if unknown:
        raise PolicyError(f"unknown keys {sorted(unknown)}")
    outcomes = tuple(document.get("outcomes", REQUIRED_OUTCOMES))
    if not all(isinstance(o, str) and o for o in outcomes) or len(set(outcomes)) != len(outcomes):
        raise PolicyError("outcomes must be distinct non-empty strings")
    missing = [o for o in REQUIRED_OUTCOMES if o not in outcomes]
    if missing:
        raise PolicyError(f"outcomes must include {missing}")
    # Stripe Radar's order: allow wins over block (an allow list over a block list), block over review.
    declared = tuple(document.get("precedence", DEFAULT_PRECEDENCE))
    if set(declared) - set(outcomes) or len(set(declared)) != len(declared):
        raise PolicyError("precedence must list distinct outcomes")
    precedence = (*declared, *(o for o in outcomes if o not in declared))
    mode = document.get("mode", "first_matched")
    if mode not in ("first_matched", "all_matched"):
        raise PolicyError(f"mode must be first_matched or all_matched, got {mode!r}")
    default = document.get("default_outcome", "allow")
    if default not in outcomes:
        raise PolicyError(f"default_outcome {default!r} is not one of the outcomes")
    lists = tuple(document.get("lists", ()))
    if not all(isinstance(name, str) and name.isidentifier() for name in lists):
        raise PolicyError("lists must be names (letters, digits, underscores)")
    raw_rules = document.get("rules", [])
    if not isinstance(raw_rules, Sequence) or isinstance(raw_rules, str):
        raise PolicyError("rules must be a list")
    rules, seen = [], set()
    for raw in raw_rules:
        rule = _rule(raw, outcomes, lists)
        if rule.id in seen:
            raise PolicyError("the rule id is used twice", rule=rule.id)
        seen.add(rule.id)
        rules.append(rule)
    return Policy(outcomes, precedence, mode, default, tuple(rules), lists)


DEFAULT_POLICY: dict[str, Any] = {
    "description": "the model's own verdict: block what it calls fraud, allow the rest",
    "outcomes": list(REQUIRED_OUTCOMES),
    "mode": "first_matched",
    "default_outcome": "allow",
    "rules": [
        {
            "id": "model_says_fraud",
            "description": "fraud_probability at or above the model's threshold",
            "expression": "is_fraud",
            "outcome": "block",
        },
    ],  # fmt: skip
}


def _rule(raw: Any, outcomes: tuple[str, ...], lists: tuple[str, ...]) -> Rule:
    if not isinstance(raw, Mapping):
        raise PolicyError("each rule is an object with id, expression and outcome")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not rule_id:
        raise PolicyError("a rule has no id")
    unknown = set(raw) - {"id", "description", "expression", "outcome"}
    if unknown:
        raise PolicyError(f"unknown keys {sorted(unknown)}", rule=rule_id)
    expression, outcome = raw.get("expression"), raw.get("outcome")
    if outcome not in outcomes:
        raise PolicyError(f"outcome {outcome!r} is not one of {list(outcomes)}", rule=rule_id)
    if not isinstance(expression, str) or not expression.strip():
        raise PolicyError("the expression is empty", rule=rule_id)
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise PolicyError(f"does not parse: {exc.msg}", rule=rule_id, column=(exc.offset or 1) - 1) from exc
    checker = _Checker(rule_id, lists)
    if checker.kind(tree.body) != "boolean":
        raise PolicyError("the expression is not true or false", rule=rule_id, column=0)
    body = _Rewriter(lists).visit(tree)
    ast.fix_missing_locations(body)
    code = compile(body, f"<rule {rule_id}>", "eval")
    return Rule(rule_id, str(raw.get("description", "")), expression, str(outcome), code)


class _Checker:
    """Whitelist and types: each node's kind, or PolicyError at its position."""

    def __init__(self, rule: str, lists: tuple[str, ...]) -> None:
        self.rule, self.lists = rule, lists

    def fail(self, node: ast.AST, reason: str) -> PolicyError:
        return PolicyError(reason, rule=self.rule, column=getattr(node, "col_offset", None))

    def kind(self, node: ast.AST) -> Kind | Literal["list", "set"]:
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                if self.kind(value) != "boolean":
                    raise self.fail(value, "and/or need true-or-false operands")
            return "boolean"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            if self.kind(node.operand) != "boolean":
                raise self.fail(node.operand, "not needs a true-or-false operand")
            return "boolean"
        if isinstance(node, ast.Compare):
            left = node.left
            for op, right in zip(node.ops, node.comparators, strict=True):
                self.compare(op, left, right)
                left = right
            return "boolean"
        if isinstance(node, ast.Name):
            if node.id not in VARIABLES:
                raise self.fail(node, f"unknown field {node.id!r}")
            return VARIABLES[node.id][0]
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                return "boolean"
            if isinstance(node.value, int | float):
                return "number"
            if isinstance(node.value, str):
                return "string"
            raise self.fail(node, f"{node.value!r} is not a number, string or boolean")
        if isinstance(node, ast.Tuple | ast.List):
            kinds = {self.kind(element) for element in node.elts}
            if len(kinds) > 1 or not all(isinstance(e, ast.Constant) for e in node.elts):
                raise self.fail(node, "a list of values holds constants of one kind")
            return "list"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == LISTS:
            if node.attr not in self.lists:
                raise self.fail(node, f"unknown list {node.attr!r} (declared: {list(self.lists)})")
            return "set"
        raise self.fail(node, f"{type(node).__name__} is not allowed in a rule")

    def compare(self, op: ast.cmpop, left: ast.AST, right: ast.AST) -> None:
        if type(op) not in _COMPARISONS:
            raise self.fail(left, f"{type(op).__name__} is not allowed in a rule")
        a, b = self.kind(left), self.kind(right)
        if isinstance(op, ast.In | ast.NotIn):
            if b == "set" and a != "string":
                raise self.fail(left, "list membership needs a string field (e.g. nameDest)")
            if b not in ("set", "list"):
                raise self.fail(right, "in needs a list: lists.NAME or (value, ...)")
            return
        if "list" in (a, b) or "set" in (a, b):
            raise self.fail(left, "a list can only follow in / not in")
        if a != b:
            raise self.fail(left, f"compares a {a} with a {b}")
        if type(op) in _ORDERING and a != "number":
            raise self.fail(left, f"orders {a}s: only numbers can be < or >")


class _Rewriter(ast.NodeTransformer):
    """`lists.NAME` -> its scope variable; a comparison with an optional field -> false when it is absent."""

    def __init__(self, lists: tuple[str, ...]) -> None:
        self.lists = lists

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:  # noqa: N802 - ast's naming
        return ast.copy_location(ast.Name(id=f"__list_{node.attr}", ctx=ast.Load()), node)

    def visit_Compare(self, node: ast.Compare) -> ast.AST:  # noqa: N802
        self.generic_visit(node)
        optional = [
            n.id for n in (node.left, *node.comparators) if isinstance(n, ast.Name) and n.id in VARIABLES
            and VARIABLES[n.id][1]
        ]  # fmt: skip
        if not optional:
            return node
        present = [
            ast.Compare(ast.Name(name, ast.Load()), [ast.IsNot()], [ast.Constant(None)]) for name in optional
        ]
        return ast.copy_location(ast.BoolOp(ast.And(), [*present, node]), node)
