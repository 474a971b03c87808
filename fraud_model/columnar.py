"""Rules over columns: every checked expression of a policy evaluated for many transactions at once (batches,
backtests), with exactly the answers `Policy.decide` gives one transaction at a time.

For a 1,000-row batch the cost of the numpy form is the number of numpy calls more than the rows, so every
rule goes into one code object, a sub-expression several rules share is computed once, and a field's presence
mask is applied only where some row lacks the field. Where the compiled evaluator is built
(`fraud_model.rulecode`), the same vectorised rules run as its instructions instead, with the same answers
(tested against each other and against `Policy.decide`). (Tried and measured slower in numpy: grouping each
variable's comparisons with constants into one broadcast call and reading conjunctions off a matrix
product.) `type` and `feature_set` are codes (float64, NaN = absent): a comparison with a constant is a
comparison of numbers.
"""

from __future__ import annotations

import ast
import copy
import itertools
import operator
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np

from fraud_model import rulecode
from fraud_model.expressions import VARIABLES, call, optional
from fraud_model.features import FEATURE_SETS
from fraud_model.schema import TRANSACTION_TYPES

_NO_BUILTINS: dict[str, Any] = {"__builtins__": {}}


def columns(
    values: Mapping[str, Sequence[Any] | np.ndarray], names: frozenset[str] | set[str] | None = None
) -> dict[str, Any]:
    """Columns for `Program.run`, from sequences or arrays of each variable's values (None = absent): numbers
    as float64 (NaN = absent), booleans as bool, `type` and `feature_set` as float64 codes (NaN = absent;
    given as text, or as codes: TYPE_CODES, FEATURE_SETS' order, -1 = absent), account names as lists."""
    out: dict[str, Any] = {}
    for name in values if names is None else names:
        kind = VARIABLES[name][0]
        raw = values[name]
        if kind == "number":
            out[name] = np.asarray(raw, dtype=np.float64)  # None -> NaN
        elif kind == "boolean":
            out[name] = np.asarray(raw, dtype=bool)
        elif name in _DOMAINS:  # a handful of known values: compared as numbers
            out[name] = _categorical(name, raw)
        else:  # account names: as they came (a list), compared and looked up value by value
            out[name] = raw if isinstance(raw, list) else list(raw)
    return out


class Program:
    """A policy's rules compiled over columns into one code object; `run` gives (rules, rows) booleans."""

    def __init__(self, trees: Sequence[ast.expr], lists: Sequence[str]) -> None:
        self.lists, self.rules = tuple(lists), len(trees)
        self.variables = frozenset(
            n.id for t in trees for n in ast.walk(t) if isinstance(n, ast.Name) and n.id in VARIABLES
        )
        vectors = [_Vectoriser().visit(copy.deepcopy(tree)) for tree in trees]
        counts = Counter(ast.dump(node) for tree in vectors for node in ast.walk(tree) if _shareable(node))
        shared = _Shared({key for key, count in counts.items() if count > 1})
        body = ast.Tuple([cast(ast.expr, shared.visit(tree)) for tree in vectors], ast.Load())
        self.code = compile(ast.fix_missing_locations(ast.Expression(body)), "<rules over columns>", "eval")
        self.compiled = rulecode.build(body.elts, _DOMAINS)  # None: numpy runs the rules

    def run(
        self, values: Mapping[str, Any], lists: Mapping[str, frozenset[str]], *, compiled: bool = True
    ) -> np.ndarray:
        """(rules, rows) booleans: where each rule is true; `values` as `columns()` makes them. `compiled`
        False runs the numpy form even where the compiled evaluator could (to compare them)."""
        rows = len(next(iter(values.values()))) if values else 0
        if compiled and self.compiled is not None:
            return self.compiled.run(values, lists, rows)
        scope: dict[str, Any] = {**_HELPERS, **values}
        for name in self.variables:
            if VARIABLES[name][1]:
                scope[f"__present_{name}"] = _present(values[name])
        for name in self.lists:
            scope[f"__list_{name}"] = lists.get(name, frozenset())
        with np.errstate(all="ignore"):  # absurd amounts overflow to inf: compared, not warned about
            truths = eval(self.code, _NO_BUILTINS, scope)  # noqa: S307 - checked, whitelisted
        if all(isinstance(truth, np.ndarray) and truth.shape == (rows,) for truth in truths):
            return np.array(truths, dtype=bool).reshape(self.rules, rows)  # one call, not one a rule
        out = np.zeros((self.rules, rows), dtype=bool)
        for i, truth in enumerate(truths):  # a rule that is a constant
            out[i] = truth
        return out


class _Vectoriser(ast.NodeTransformer):
    """For columns: `and`/`or` -> element-wise `&`/`|`, `not` -> logical_not, a chained comparison -> the `&`
    of its pairs, membership -> set or value tests, account names value by value, an optional field's
    comparison -> masked by its presence."""

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:  # noqa: N802 - ast's naming
        self.generic_visit(node)
        return _element_wise(ast.BitAnd() if isinstance(node.op, ast.And) else ast.BitOr(), node.values)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:  # noqa: N802
        self.generic_visit(node)
        return call("__not", node.operand) if isinstance(node.op, ast.Not) else node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:  # noqa: N802
        fields = optional(node)
        operands = [self.visit(operand) for operand in (node.left, *node.comparators)]
        pairs: list[ast.expr] = []
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            if isinstance(op, ast.In | ast.NotIn):
                if isinstance(right, ast.Attribute):  # lists.NAME
                    test = call("__in_set", _as_text(left), ast.Name(f"__list_{right.attr}", ast.Load()))
                else:
                    test = call("__in_values", left, _coded(left, right))
                pairs.append(call("__not", test) if isinstance(op, ast.NotIn) else test)
            elif _is_text(left) or _is_text(right) or (_is_coded(left) and _is_coded(right)):
                # account names are lists, compared value by value (and codes of two fields, as their text)
                test = call("__text_eq", _as_text(left), _as_text(right))
                pairs.append(call("__not", test) if isinstance(op, ast.NotEq) else test)
            else:
                pairs.append(ast.Compare(_coded(right, left), [op], [_coded(left, right)]))
        result = _element_wise(ast.BitAnd(), pairs)
        for name in fields:  # `__present_NAME` is None when no row lacks the field: nothing to mask
            result = call("__masked", ast.Name(f"__present_{name}", ast.Load()), result)
        return result


def _element_wise(op: ast.operator, values: list[ast.expr]) -> ast.expr:
    """`a & b & c` (or `|`): on numpy booleans, element-wise; a Python bool among them broadcasts."""
    result = values[0]
    for value in values[1:]:
        result = ast.BinOp(result, op, value)
    return result


def _shareable(node: ast.AST) -> bool:
    return isinstance(node, ast.Compare | ast.Call | ast.BinOp)


class _Shared(ast.NodeTransformer):
    """A sub-expression several rules share is computed once: its first evaluation is named (`:=`), the later
    ones read the name (visited depth-first, left to right: the order Python evaluates them in)."""

    def __init__(self, repeated: set[str]) -> None:
        self.repeated = repeated
        self.names: dict[str, str] = {}

    def visit(self, node: ast.AST) -> ast.AST:
        key = ast.dump(node) if _shareable(node) else None
        if key is not None and key in self.names:
            return ast.Name(self.names[key], ast.Load())
        if key is None or key not in self.repeated:
            return super().visit(node)
        name = self.names[key] = f"__shared{len(self.names)}"
        return ast.NamedExpr(ast.Name(name, ast.Store()), super().visit(node))


def _is_text(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and VARIABLES[node.id][0] == "string" and node.id not in _DOMAINS) or (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__text"
    )


def _is_coded(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id in _DOMAINS


def _as_text(node: ast.expr) -> ast.expr:
    """A coded field where it meets account names or a list: its values as text again."""
    return (
        call("__text", node, ast.Constant(node.id))
        if isinstance(node, ast.Name) and _is_coded(node)
        else node
    )


def _coded(field: ast.expr, node: ast.expr) -> ast.expr:
    """`node` (a constant, or a tuple of them) as codes where it is compared with a coded field: a value
    outside the field's domain as NaN (equal to nothing)."""
    if not _is_coded(field):
        return node
    index = _DOMAINS[field.id][0]  # type: ignore[attr-defined]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return ast.Constant(float(index.get(node.value, np.nan)))
    if isinstance(node, ast.Tuple | ast.List):
        known = [float(index[e.value]) for e in node.elts if isinstance(e, ast.Constant) and e.value in index]
        return ast.Tuple([ast.Constant(code) for code in known if code == code], ast.Load())
    return node


def _categorical(name: str, raw: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Codes: a value's place in the domain, NaN when absent, one past the domain for a value outside it
    (never from a validated transaction: it equals no constant)."""
    index, _ = _DOMAINS[name]
    if isinstance(raw, np.ndarray) and raw.dtype.kind == "f":
        return raw
    if (
        isinstance(raw, np.ndarray) and raw.dtype.kind in "iu"
    ):  # codes (TYPE_CODES, FEATURE_SETS; -1 = absent)
        return np.where(raw >= 0, raw, np.nan)
    values = raw.tolist() if isinstance(raw, np.ndarray) else list(raw)
    try:
        return np.fromiter(map(index.__getitem__, values), dtype=np.float64, count=len(values))
    except KeyError:
        other = float(len(index) - 1)
        return np.fromiter((index.get(v, other) for v in values), dtype=np.float64, count=len(values))


def _domain(values: Sequence[str]) -> tuple[dict[str | None, float], np.ndarray]:
    index: dict[str | None, float] = {value: float(i) for i, value in enumerate(values)}
    index[None] = np.nan
    return index, np.array([*values, None, None], dtype=object)  # [-2]: outside the domain, [-1]: absent


def _text(codes: np.ndarray, name: str) -> list[Any]:
    text = _DOMAINS[name][1]
    return text[np.where(np.isnan(codes), -1, codes).astype(np.intp)].tolist()


def _present(column: np.ndarray | list[Any]) -> np.ndarray | None:
    """Where a column has a value; None when every row has one (the usual case: nothing to mask)."""
    if isinstance(column, list):
        return None if None not in column else np.fromiter(map(_is_not_none, column), bool, len(column))
    if not np.isnan(np.add.reduce(column)):  # no NaN (money is never negative: no inf - inf either)
        return None
    absent = np.isnan(column)
    return ~absent if absent.any() else None


def _is_not_none(value: Any) -> bool:
    return value is not None


def _masked(present: np.ndarray | None, truth: Any) -> Any:
    return truth if present is None else present & truth


def _in_set(column: list[Any], values: frozenset[str]) -> np.ndarray:
    return np.fromiter(map(values.__contains__, column), dtype=bool, count=len(column))


def _text_eq(left: Any, right: Any) -> np.ndarray:
    """`==` where an account name (a list) is compared: with a constant, or another name, value by value."""
    if not isinstance(left, list):
        left, right = right, left
    if isinstance(right, list):
        return np.fromiter(map(operator.eq, left, right), dtype=bool, count=len(left))
    return np.fromiter(map(operator.eq, left, itertools.repeat(right)), dtype=bool, count=len(left))


def _in_values(column: np.ndarray | list[Any], values: tuple[Any, ...]) -> np.ndarray:
    if isinstance(column, list):
        return _in_set(column, frozenset(values))
    out = np.zeros(len(column), dtype=bool)
    for value in values:
        out |= column == value
    return out


_DOMAINS = {"type": _domain(TRANSACTION_TYPES), "feature_set": _domain(tuple(FEATURE_SETS))}
_HELPERS: dict[str, Any] = {
    "__not": np.logical_not, "__masked": _masked, "__text_eq": _text_eq, "__in_set": _in_set,
    "__in_values": _in_values, "__text": _text,
}  # fmt: skip
