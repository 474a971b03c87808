"""Type stub of the optional compiled rule evaluator built from `_rules.c` (see fraud_model.rulecode)."""

from typing import Any

BLOCK: int

class Program:
    def __init__(
        self, code: bytes, constants: bytes, masks: bytes, columns: int, names: int, sets: int, numbers: int,
        truths: int, rules: int,
    ) -> None: ...  # fmt: skip
    def run(
        self, columns: tuple[Any, ...], names: tuple[list[Any], ...], sets: tuple[Any, ...], out: Any
    ) -> None: ...
