"""A policy's rules, as `fraud_model.columnar` vectorises them, translated into instructions for the
optional compiled evaluator (`fraud_model._rules`, built from `_rules.c`), which runs them block by block.

Each instruction is one tight loop over a block of rows in C; the numpy form makes one call (and its Python
overhead) for each. Results live in registers that are reused once their last reader has run, so a block's
working set stays in the first-level cache. A rule the evaluator cannot run (a categorical field compared
with an account name or looked up in a list: allowed, never useful) leaves the whole policy to numpy.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fraud_model.expressions import VARIABLES

try:
    from fraud_model import _rules
except ImportError:  # pragma: no cover - built without a C compiler: the numpy form runs every policy
    _rules = None  # type: ignore[assignment]

AVAILABLE = _rules is not None

# The instruction set, in the order of the enum in _rules.c.
OPS = ("add", "sub", "mul", "neg", "lt", "le", "eq", "ne", "gt", "ge", "truth", "code_in", "and", "or", "not",
       "present", "name_in", "name_eq", "name_present", "out")  # fmt: skip
_CODE = {name: index for index, name in enumerate(OPS)}
_COMPARE = {ast.Lt: "lt", ast.LtE: "le", ast.Eq: "eq", ast.NotEq: "ne", ast.Gt: "gt", ast.GtE: "ge"}
_ARITHMETIC = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul"}
_REGISTERS = ("number", "truth")

Operand = tuple[str, Any]  # (space, index): column, constant, number, truth, name, set, mask, rule


class Unsupported(Exception):
    """A construct the compiled evaluator does not run: the numpy form runs the policy."""


@dataclass(frozen=True)
class Compiled:
    """Rules ready to run: the evaluator's program and the inputs it reads, in its operand order."""

    program: Any  # fraud_model._rules.Program
    rules: int
    columns: tuple[str, ...]  # numbers, booleans and codes: float64
    names: tuple[str, ...]  # account names: lists
    sets: tuple[str | frozenset[str], ...]  # a list's name (looked up per run) or a frozenset of constants

    def run(self, values: Mapping[str, Any], lists: Mapping[str, frozenset[str]], rows: int) -> np.ndarray:
        """(rules, rows) booleans, exactly the numpy form's; `values` as `columnar.columns()` makes them."""
        out = np.empty((self.rules, rows), dtype=bool)
        if self.rules == 0 or rows == 0:
            return out
        columns = tuple(_float64(values[name], rows) for name in self.columns)
        names = tuple(v if isinstance(v := values[name], list) else list(v) for name in self.names)
        sets = tuple(lists.get(s, frozenset()) if isinstance(s, str) else s for s in self.sets)
        self.program.run(columns, names, sets, out)
        return out


def build(trees: Sequence[ast.expr], categorical: Mapping[str, Any]) -> Compiled | None:
    """The compiled form of rule trees (vectorised, shared sub-expressions named); None when the evaluator is
    not built or a rule uses something it does not run. `categorical`: the fields given as codes."""
    if _rules is None:
        return None
    builder = _Builder(frozenset(categorical))
    try:
        for index, tree in enumerate(trees):
            builder.emit("out", None, builder.truth(tree), ("rule", index))
    except Unsupported:
        return None
    code, numbers, truths = builder.allocate()
    program = _rules.Program(
        np.array(code, dtype=np.int32).tobytes(), np.array(builder.constants, dtype=np.float64).tobytes(),
        np.array(builder.masks, dtype=np.uint64).tobytes(), len(builder.columns), len(builder.names),
        len(builder.sets), numbers, truths, len(trees),
    )  # fmt: skip
    return Compiled(program, len(trees), tuple(builder.columns), tuple(builder.names), tuple(builder.sets))


def _float64(column: Any, rows: int) -> np.ndarray:
    array = np.ascontiguousarray(column, dtype=np.float64)
    return np.full(rows, float(array)) if array.ndim == 0 else array


class _Builder:
    """Instructions with a fresh register per result (as the trees are walked), then registers reused."""

    def __init__(self, categorical: frozenset[str]) -> None:
        self.categorical = categorical
        self.code: list[tuple[str, Operand | None, Operand | None, Operand | None]] = []
        self.columns: dict[str, int] = {}
        self.names: dict[str, int] = {}
        self.sets: dict[str | frozenset[str], int] = {}
        self.constants: list[float] = []
        self.masks: list[int] = []
        self.shared: dict[str, Operand] = {}
        self.fresh = 0

    def emit(self, op: str, space: str | None, a: Operand | None, b: Operand | None = None) -> Operand:
        self.fresh += 1
        result = (space, self.fresh) if space else ("none", 0)
        self.code.append((op, result if space else None, a, b))
        return result

    def truth(self, node: ast.expr) -> Operand:
        value = self.value(node)
        if value[0] in ("column", "constant", "number"):
            return self.emit("truth", "truth", value)
        if value[0] != "truth":
            raise Unsupported(f"{ast.dump(node)} is not true or false")
        return value

    def number(self, node: ast.expr) -> Operand:
        value = self.value(node)
        if value[0] not in ("column", "constant", "number"):
            raise Unsupported(f"{ast.dump(node)} is not a number")
        return value

    def value(self, node: ast.expr) -> Operand:  # noqa: PLR0911, PLR0912 - one case per node kind
        if isinstance(node, ast.NamedExpr):
            self.shared[node.target.id] = found = self.value(node.value)
            return found
        if isinstance(node, ast.Name):
            if node.id in self.shared:
                return self.shared[node.id]
            if VARIABLES.get(node.id, ("",))[0] == "string" and node.id not in self.categorical:
                return ("name", self.names.setdefault(node.id, len(self.names)))
            if node.id not in VARIABLES:
                raise Unsupported(node.id)
            return ("column", self.columns.setdefault(node.id, len(self.columns)))
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool | int | float):
                self.constants.append(float(node.value))
                return ("constant", len(self.constants) - 1)
            return ("text", node.value)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.BitAnd | ast.BitOr):
                op = "and" if isinstance(node.op, ast.BitAnd) else "or"
                return self.emit(op, "truth", self.truth(node.left), self.truth(node.right))
            return self.emit(
                _ARITHMETIC[type(node.op)], "number", self.number(node.left), self.number(node.right)
            )
        if isinstance(node, ast.UnaryOp):
            operand = self.number(node.operand)
            return self.emit("neg", "number", operand) if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Compare):
            left, right = self.number(node.left), self.number(node.comparators[0])
            return self.emit(_COMPARE[type(node.ops[0])], "truth", left, right)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.call(node.func.id, node.args)
        raise Unsupported(ast.dump(node))

    def call(self, helper: str, args: list[ast.expr]) -> Operand:
        if helper == "__not":
            return self.emit("not", "truth", self.truth(args[0]))
        if helper == "__masked":  # (__present_FIELD, truth)
            field = args[0].id.removeprefix("__present_")  # type: ignore[attr-defined]
            truth = self.truth(args[1])
            where = self.value(ast.Name(field, ast.Load()))
            return self.emit("name_present" if where[0] == "name" else "present", "truth", truth, where)
        if helper == "__in_set":  # (name column, __list_NAME)
            column = self._name(args[0])
            listed = args[1].id.removeprefix("__list_")  # type: ignore[attr-defined]
            return self.emit(
                "name_in", "truth", column, ("set", self.sets.setdefault(listed, len(self.sets)))
            )
        if helper == "__in_values":  # (column, tuple of constants)
            return self._in_values(args[0], [element.value for element in args[1].elts])  # type: ignore[attr-defined]
        if helper == "__text_eq":
            left, right = self.value(args[0]), self.value(args[1])
            if left[0] == "text":
                left, right = right, left
            if left[0] == "name" and right[0] == "name":
                return self.emit("name_eq", "truth", left, right)
            if left[0] == "name" and right[0] == "text":
                return self.emit("name_in", "truth", left, self._set(frozenset([right[1]])))
        raise Unsupported(helper)

    def _in_values(self, node: ast.expr, values: list[Any]) -> Operand:
        if isinstance(node, ast.Name) and node.id in self.categorical:  # codes: one bit each
            mask = sum(1 << int(code) for code in set(values) if code == code and 0 <= code < 64)
            self.masks.append(mask)
            return self.emit("code_in", "truth", self.value(node), ("mask", len(self.masks) - 1))
        column = self.value(node)
        if column[0] == "name":
            return self.emit("name_in", "truth", column, self._set(frozenset(values)))
        if column[0] not in ("column", "constant", "number"):
            raise Unsupported(f"{ast.dump(node)} is not a number")
        result: Operand | None = None
        for value in values:
            equal = self.emit("eq", "truth", column, self.value(ast.Constant(value)))
            result = equal if result is None else self.emit("or", "truth", result, equal)
        return self.truth(ast.Constant(False)) if result is None else result

    def _name(self, node: ast.expr) -> Operand:
        column = self.value(node)
        if column[0] != "name":
            raise Unsupported("only account names are looked up in lists here")
        return column

    def _set(self, values: frozenset[str]) -> Operand:
        return ("set", self.sets.setdefault(values, len(self.sets)))

    def allocate(self) -> tuple[list[int], int, int]:
        """The instructions as int32 quadruples, each fresh register mapped to a reused one: a register is
        free once the last instruction that reads it has read it (a destination may be one of its sources:
        the loops are element-wise)."""
        last: dict[Operand, int] = {}
        for k, (_, _, a, b) in enumerate(self.code):
            for operand in (a, b):
                if operand is not None and operand[0] in _REGISTERS:
                    last[operand] = k
        free: dict[str, list[int]] = {space: [] for space in _REGISTERS}
        size = dict.fromkeys(_REGISTERS, 0)
        physical: dict[Operand, int] = {}
        code: list[int] = []
        for k, (op, dst, a, b) in enumerate(self.code):
            fields = [self._index(operand, physical) for operand in (a, b)]
            for operand in {a, b}:
                if operand is not None and operand[0] in _REGISTERS and last[operand] == k:
                    free[operand[0]].append(physical[operand])
            target = 0
            if dst is not None:
                space = dst[0]
                if free[space]:
                    target = free[space].pop()
                else:
                    target, size[space] = size[space], size[space] + 1
                physical[dst] = target
                if dst not in last:  # never read (a shared value's last reader was its own rule)
                    free[space].append(target)
            code += [_CODE[op], target, *fields]
        return code, size["number"], size["truth"]

    def _index(self, operand: Operand | None, physical: dict[Operand, int]) -> int:
        if operand is None:
            return 0
        space, index = operand
        if space == "constant":
            return len(self.columns) + int(index)
        if space == "number":
            return len(self.columns) + len(self.constants) + physical[operand]
        if space == "truth":
            return physical[operand]
        return int(index)  # column, name, set, mask, rule: indexes into their own inputs
