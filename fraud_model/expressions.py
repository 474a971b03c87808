"""The rules' expression language: a small, typed subset of Python's expression syntax, checked node by node
and compiled for one transaction. `fraud_model.columnar` compiles the same checked trees over columns.

Refused unless every node is on a whitelist: `and`, `or`, `not`, comparisons (`==` `!=` `<` `<=` `>` `>=`
`in` `not in`), `+` `-` `*` on numbers, numbers, strings, booleans, tuples of constants, variables, and list
membership as `field in lists.NAME`. A comparison involving a field the transaction does not carry is false.
"""

from __future__ import annotations

import ast
import copy
from typing import Literal

from fraud_model.errors import InputError

Kind = Literal["number", "string", "boolean"]
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
    # the deciding model's threshold: `probability >= 0.5 * threshold` survives retraining
    "threshold": ("number", False),
    "is_fraud": ("boolean", False),
    "feature_set": ("string", False),
}
MODEL_VARIABLES = ("probability", "threshold", "is_fraud", "feature_set")
_COMPARISONS = {ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn}
_ORDERING = {ast.Lt, ast.LtE, ast.Gt, ast.GtE}
_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult)  # no division: a zero balance would fail at request time
_LARGEST_CONSTANT = 1e18  # larger literals are typos, and an integer beyond a float would overflow `*`


class PolicyError(InputError):
    """A policy that cannot serve: the rule, the position in its expression, and the reason."""

    def __init__(self, reason: str, *, rule: str | None = None, column: int | None = None) -> None:
        where = f"rule {rule!r}" if rule else "policy"
        if column is not None:
            where += f", column {column + 1}"
        super().__init__(f"{where}: {reason}")
        self.rule, self.column, self.reason = rule, column, reason


def check(rule: str, expression: str, lists: tuple[str, ...]) -> ast.expr:
    """The checked tree of a boolean expression; PolicyError with the rule, the column and the reason."""
    if not expression.strip():
        raise PolicyError("the expression is empty", rule=rule)
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise PolicyError(f"does not parse: {exc.msg}", rule=rule, column=(exc.offset or 1) - 1) from exc
    if _Checker(rule, lists).kind(tree.body) != "boolean":
        raise PolicyError("the expression is not true or false", rule=rule, column=0)
    return tree.body


def for_one(tree: ast.expr) -> ast.expr:
    """The checked tree rewritten for one transaction's values (a new tree: `tree` is left as it is)."""
    return _Rewriter().visit(copy.deepcopy(tree))


def names(tree: ast.AST) -> frozenset[str]:
    """The variables an expression reads."""
    return frozenset(
        node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id in VARIABLES
    )


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
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            if self.kind(node.operand) != "number":
                raise self.fail(node.operand, "- and + need a number")
            return "number"
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, _ARITHMETIC):
                raise self.fail(node, f"{type(node.op).__name__} is not allowed in a rule (only +, - and *)")
            if self.kind(node.left) != "number" or self.kind(node.right) != "number":
                raise self.fail(node, "+, - and * need numbers")
            return "number"
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
                if not abs(node.value) <= _LARGEST_CONSTANT:  # also refuses inf and nan
                    raise self.fail(
                        node, f"{node.value!r} is beyond the largest number a rule may use (1e18)"
                    )
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


def optional(node: ast.Compare) -> list[str]:
    """The optional fields a comparison reads, anywhere in its operands (`amount > 2 * oldbalanceDest`)."""
    names = (n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in VARIABLES)
    return list(dict.fromkeys(name for name in names if VARIABLES[name][1]))


class _Rewriter(ast.NodeTransformer):
    """For one transaction: `lists.NAME` -> its scope variable; a comparison reading an optional field ->
    false when the field is absent."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:  # noqa: N802 - ast's naming
        return ast.copy_location(ast.Name(id=f"__list_{node.attr}", ctx=ast.Load()), node)

    def visit_Compare(self, node: ast.Compare) -> ast.AST:  # noqa: N802
        fields = optional(node)
        self.generic_visit(node)
        if not fields:
            return node
        present = [
            ast.Compare(ast.Name(name, ast.Load()), [ast.IsNot()], [ast.Constant(None)]) for name in fields
        ]
        return ast.copy_location(ast.BoolOp(ast.And(), [*present, node]), node)


def call(helper: str, *args: ast.expr) -> ast.Call:
    return ast.Call(ast.Name(helper, ast.Load()), list(args), [])
