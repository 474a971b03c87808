"""Type stub of the optional compiled walker built from `_forest.c` (see fraud_model.compiled)."""

from typing import Any

MAX_COMPLETE_DEPTH: int
SIMD_LANES: int

class Trees:
    def __init__(self, nodes: Any, values: Any, default_right: Any, depth: Any, n_features: int) -> None: ...
    def margin(self, x: Any, out: Any, base_margin: float, threads: int = 1) -> None: ...

class CompleteTrees:
    def __init__(
        self, nodes: Any, default_right: Any, leaves: Any, node_start: Any, leaf_start: Any, depth: Any,
        n_features: int,
    ) -> None: ...  # fmt: skip
    def margin(self, x: Any, out: Any, base_margin: float, threads: int = 1) -> None: ...
