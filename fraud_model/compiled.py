"""The optional compiled walker (`fraud_model._forest`, built from `_forest.c`) and the layouts it reads.

`Walker(forest)` packs a Forest once: side-by-side children for any tree (`Trees`), and, when the trees
are shallow and dense enough, complete level-order trees with 8-byte float32 nodes (`CompleteTrees`, the
fast path for float32 rows). Margins equal the numpy walk's: the same comparisons, in the same order.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from fraud_model.errors import ArtifactError

if TYPE_CHECKING:
    from fraud_model.forest import Forest

try:
    from fraud_model import _forest
except ImportError:  # pragma: no cover - depends on how the package was built
    _forest = None  # type: ignore[assignment]

AVAILABLE = _forest is not None
MAX_TREE_DEPTH = 24
_COMPLETE_DEPTH = 10  # complete trees only up to 2^10 nodes each ...
_COMPLETE_PADDING = 4.0  # ... and at most 4x the real nodes: sparse deep trees keep the general layout
_PAIR_NODE = np.dtype([("split", "<f8"), ("feature", "<i4"), ("first", "<i4")])  # `Node` in _forest.c
_SMALL_NODE = np.dtype([("split", "<f4"), ("feature", "<i4")])  # `SmallNode` in _forest.c
# Rows per thread: a batch of 512+ rows is split over the cores this process may use (2 vCPUs on Lambda
# from 1,769 MB). Measured here, a whole /predict/batch of 1,000: 1.6x XGBoost's batch on 1 thread, 1.9x on 2.
_THREAD_ROWS = 256
_COMPLETE_ROWS = 16  # fewer rows walk the side-by-side layout: faster for one row (better locality)


class Walker:
    """A Forest packed for the compiled walker; `margin` picks the layout for the input's dtype."""

    def __init__(self, forest: Forest) -> None:
        if _forest is None:
            raise RuntimeError("fraud_model._forest is not built (see docs/serving.md)")
        levels = _Levels(forest)
        self.trees = _forest.Trees(*_pack_pairs(forest, levels), forest.n_features)
        complete = _pack_complete(forest, levels)
        self.complete = _forest.CompleteTrees(*complete, forest.n_features) if complete is not None else None

    def margin(self, x: np.ndarray, base_margin: float) -> np.ndarray:
        if not x.flags.c_contiguous:
            x = np.ascontiguousarray(x)
        out = np.empty(x.shape[0], dtype=np.float64)
        # Complete trees pay off across a block of rows; one row walks the side-by-side layout faster.
        walker: Any = self.trees
        if self.complete is not None and x.dtype == np.float32 and x.shape[0] >= _COMPLETE_ROWS:
            walker = self.complete
        walker.margin(x, out, base_margin, threads=_threads(x.shape[0]))
        return out


max_threads: int | None = None  # threads for one large batch; None: as many as this process may use


def _threads(rows: int) -> int:
    if rows < 2 * _THREAD_ROWS:
        return 1
    cores = max_threads if max_threads is not None else _cores()
    return max(1, min(cores, rows // _THREAD_ROWS, 8))


def _cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)  # Linux: the CPUs this process may run on
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


class _Levels:
    """The trees of a forest level by level: which nodes (and of which tree) sit at each depth."""

    def __init__(self, forest: Forest) -> None:
        n = forest.feature.size
        self.left = forest.children[0::2].astype(np.int64)
        self.right = forest.children[1::2].astype(np.int64)
        if (
            n == 0
            or self.left.min() < 0
            or self.right.min() < 0
            or max(self.left.max(), self.right.max()) >= n
        ):
            raise ArtifactError("forest children point outside the node arrays")
        self.is_leaf = self.left == np.arange(n)
        inner_features = forest.feature[~self.is_leaf]
        if np.any(inner_features < 0) or np.any(inner_features >= forest.n_features):
            raise ArtifactError("forest splits on a feature index out of range")
        roots = forest.roots.astype(np.int64)
        if np.unique(roots).size != roots.size:
            raise ArtifactError("forest trees share a root")
        seen = np.zeros(n, dtype=bool)
        seen[roots] = True
        self.nodes: list[np.ndarray] = [roots]  # node ids at each depth
        self.trees: list[np.ndarray] = [np.arange(roots.size)]  # their tree
        self.depth = np.zeros(roots.size, dtype=np.int32)  # per tree
        while True:
            inner = ~self.is_leaf[self.nodes[-1]]
            if not inner.any():
                break
            if len(self.nodes) > MAX_TREE_DEPTH:
                raise ArtifactError(f"forest trees deeper than {MAX_TREE_DEPTH} (or not trees)")
            parents, trees = self.nodes[-1][inner], self.trees[-1][inner]
            self.depth[trees] = len(self.nodes)
            children = np.column_stack([self.left[parents], self.right[parents]]).ravel()
            if seen[children].any():
                raise ArtifactError("forest nodes are reached twice: not a set of trees")
            seen[children] = True
            self.nodes.append(children)
            self.trees.append(np.repeat(trees, 2))


def _pack_pairs(forest: Forest, levels: _Levels) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nodes renumbered level by level so that each inner node's children sit side by side.

    Leaves get a NaN split (every comparison with it is false) and point to themselves, so walking a tree
    exactly its depth lands on its leaf. A padding node keeps `first + 1` of the last leaf in bounds.
    """
    old = np.concatenate(levels.nodes)  # old id of each new id
    new_id = np.empty(forest.feature.size, dtype=np.int64)
    new_id[old] = np.arange(old.size)
    leaf = levels.is_leaf[old]
    nodes = np.zeros(old.size + 1, dtype=_PAIR_NODE)
    nodes["split"][:-1] = np.where(leaf, np.nan, forest.threshold[old])
    nodes["split"][-1] = np.nan
    nodes["feature"][:-1] = np.where(leaf, 0, forest.feature[old])
    nodes["first"][:-1] = np.where(leaf, np.arange(old.size), new_id[levels.left[old]])
    values = np.append(np.where(leaf, forest.value[old], 0.0), 0.0)
    default_right = np.append(~forest.default_left[old] & ~leaf, False).astype(np.uint8)
    return nodes, values, default_right, levels.depth


def _float32_at_least(threshold: np.ndarray) -> np.ndarray:
    """The smallest float32 >= each threshold: for float32 x, x >= t exactly when x >= this."""
    with np.errstate(over="ignore"):
        rounded = threshold.astype(np.float32)
    low = rounded.astype(np.float64) < threshold
    rounded[low] = np.nextafter(rounded[low], np.float32(np.inf))
    return rounded


_Arrays6 = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _pack_complete(forest: Forest, levels: _Levels) -> _Arrays6 | None:
    """Every tree stored complete, level by level (children of i at 2i + 1, 2i + 2), or None when too big.

    Below a leaf shallower than its tree, padding nodes (NaN split: always left) lead to copies of its value.
    """
    depth = levels.depth.astype(np.int64)
    inner_slots, leaf_slots = (1 << depth) - 1, 1 << depth
    real = int((~levels.is_leaf).sum())
    if depth.max(initial=0) > _COMPLETE_DEPTH or inner_slots.sum() > _COMPLETE_PADDING * real + depth.size:
        return None
    node_start = np.concatenate([[0], np.cumsum(inner_slots)[:-1]]).astype(np.int64)
    leaf_start = np.concatenate([[0], np.cumsum(leaf_slots)[:-1]]).astype(np.int64)
    nodes = np.zeros(int(inner_slots.sum()) + 1, dtype=_SMALL_NODE)
    nodes["split"] = np.nan
    default_right = np.zeros(nodes.size, dtype=np.uint8)
    leaves = np.zeros(int(leaf_slots.sum()) + 1, dtype=np.float64)
    split32 = _float32_at_least(forest.threshold)
    tree, position, node = (
        np.arange(depth.size),
        np.zeros(depth.size, dtype=np.int64),
        forest.roots.astype(np.int64),
    )
    for level in range(int(depth.max(initial=0)) + 1):
        at_leaves = depth[tree] == level  # these trees end here: `node` is a leaf (or a leaf carried down)
        slot = leaf_start[tree[at_leaves]] + position[at_leaves] - ((1 << level) - 1)
        leaves[slot] = forest.value[node[at_leaves]]
        tree, position, node = tree[~at_leaves], position[~at_leaves], node[~at_leaves]
        real_split = ~levels.is_leaf[node]
        index = node_start[tree] + position
        nodes["split"][index[real_split]] = split32[node[real_split]]
        nodes["feature"][index[real_split]] = forest.feature[node[real_split]]
        default_right[index[real_split]] = ~forest.default_left[node[real_split]]
        left = np.where(real_split, levels.left[node], node)  # padding: the leaf goes down both sides
        right = np.where(real_split, levels.right[node], node)
        tree = np.repeat(tree, 2)
        position = np.column_stack([2 * position + 1, 2 * position + 2]).ravel()
        node = np.column_stack([left, right]).ravel()
    return nodes, default_right, leaves, node_start, leaf_start, levels.depth


def native_module() -> Any:
    """The compiled module, or None (tests and benchmarks report which walker ran)."""
    return _forest
