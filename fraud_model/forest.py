"""A boosted-tree ensemble as flat numpy arrays: the fast serving export of XGBoost and LightGBM models.

Native boosters pay 70-500 µs of fixed overhead per call; walking the same trees level by level in numpy
costs a few µs per level, and the optional compiled walker (`fraud_model._forest`, built from `_forest.c`)
a few ns per node. The export is a plain `.npz` (no pickle). Every export is checked against the native
booster's own margins at training time (`verify`), so the two cannot silently disagree.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np

from fraud_model import compiled
from fraud_model.errors import ArtifactError

FORMAT_VERSION = 1
_MAX_DEPTH = compiled.MAX_TREE_DEPTH
NATIVE_AVAILABLE = compiled.AVAILABLE
Engine = Literal["auto", "native", "numpy"]


@dataclass(frozen=True)
class Forest:
    """Trees as node arrays: node k goes left when x[feature[k]] < threshold[k]; a leaf points to itself."""

    feature: np.ndarray  # int32 [nodes]
    threshold: np.ndarray  # float64 [nodes]
    children: np.ndarray  # int32 [2 * nodes]: left child at 2k, right child at 2k + 1
    default_left: np.ndarray  # bool [nodes]: where a missing (NaN) value goes
    value: np.ndarray  # float64 [nodes]: leaf values (0 on inner nodes)
    roots: np.ndarray  # int32 [trees]
    depth: int
    n_features: int
    base_margin: float = 0.0

    # --- scoring -----------------------------------------------------------------------------------
    def margin(self, features: np.ndarray, *, engine: Engine = "auto") -> np.ndarray:
        """Raw margin (log-odds) for a (rows x features) matrix.

        `engine`: "auto" uses the compiled walker when it is built, else numpy; "native" insists on it.
        """
        x = features if type(features) is np.ndarray else np.asarray(features)
        if x.dtype != np.float32 and x.dtype != np.float64:
            x = x.astype(np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected a (rows, {self.n_features}) matrix, got shape {x.shape}")
        if engine == "numpy" or (engine == "auto" and not compiled.AVAILABLE):
            return self._margin_numpy(x)
        return self._walker.margin(x, self.base_margin)

    def _margin_numpy(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, dtype=np.float64)  # float32 -> float64 is exact: same comparisons
        flat = x.ravel()
        offsets = (np.arange(x.shape[0], dtype=np.int64) * self.n_features)[:, None]
        has_nan = bool(np.isnan(flat).any())
        node = np.broadcast_to(self.roots, (x.shape[0], self.roots.size)).astype(np.int64)
        for _ in range(self.depth):
            values = flat[offsets + self.feature[node]]
            go_right = values >= self.threshold[node]
            if has_nan:
                go_right |= np.isnan(values) & ~self.default_left[node]
            node = self.children[2 * node + go_right]
        return self.value[node].sum(axis=1) + self.base_margin

    @cached_property
    def _walker(self) -> compiled.Walker:
        """The trees packed for the compiled walker, once per Forest (RuntimeError when it is not built)."""
        return compiled.Walker(self)

    def verify(self, features: np.ndarray, native_margin: np.ndarray, *, tolerance: float = 1e-5) -> float:
        """Largest |probability difference| against the native booster; ArtifactError above `tolerance`.

        Probabilities, not margins: boosters sum leaves in float32, so margins of 300 trees drift ~1e-5.
        """
        ours = sigmoid(self.margin(features))
        diff = float(np.max(np.abs(ours - sigmoid(np.asarray(native_margin, dtype=np.float64)))))
        if not diff <= tolerance:
            raise ArtifactError(
                f"forest export differs from the native booster by {diff:.3g} (> {tolerance})"
            )
        return diff

    def calibrated(self, features: np.ndarray, native_margin: np.ndarray) -> Forest:
        """A copy whose base margin makes it agree with the native booster on `features`."""
        offset = float(np.median(np.asarray(native_margin, dtype=np.float64) - self.margin(features)))
        return _replace_base(self, self.base_margin + offset)

    # --- serialisation -----------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(
            buffer,
            format_version=np.int64(FORMAT_VERSION),
            feature=self.feature, threshold=self.threshold, children=self.children,
            default_left=self.default_left, value=self.value, roots=self.roots,
            depth=np.int64(self.depth), n_features=np.int64(self.n_features),
            base_margin=np.float64(self.base_margin),
        )  # fmt: skip
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Forest:
        """The export in `data`, checked to be walkable; ArtifactError for anything else (a corrupt or
        truncated file, another kind of file, arrays that would send a walk out of bounds)."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                if int(arrays["format_version"]) != FORMAT_VERSION:
                    raise ArtifactError(
                        f"forest format {int(arrays['format_version'])} is not {FORMAT_VERSION}"
                    )
                forest = cls(
                    feature=arrays["feature"], threshold=arrays["threshold"], children=arrays["children"],
                    default_left=arrays["default_left"], value=arrays["value"], roots=arrays["roots"],
                    depth=int(arrays["depth"]), n_features=int(arrays["n_features"]),
                    base_margin=float(arrays["base_margin"]),
                )  # fmt: skip
        except ArtifactError:
            raise
        except Exception as exc:  # zipfile, zlib, numpy: whatever a damaged file makes them raise
            raise ArtifactError(f"unreadable forest export: {type(exc).__name__}: {exc}") from exc
        forest._check()
        return forest

    def _check(self) -> None:
        """Shapes, kinds and indices a walk relies on (the compiled walker does not bounds-check)."""
        nodes = self.feature.shape[0] if self.feature.ndim == 1 else -1
        shapes_ok = (
            nodes > 0
            and self.threshold.shape == self.value.shape == self.default_left.shape == (nodes,)
            and self.children.shape == (2 * nodes,)
            and self.roots.ndim == 1
            and self.roots.size > 0
        )
        kinds_ok = shapes_ok and all(
            array.dtype.kind == kind
            for array, kind in ((self.feature, "i"), (self.children, "i"), (self.roots, "i"),
                                (self.threshold, "f"), (self.value, "f"), (self.default_left, "b"))
        )  # fmt: skip
        in_bounds = kinds_ok and (
            self.n_features > 0
            and 0 <= self.depth <= _MAX_DEPTH
            and bool(((self.feature >= 0) & (self.feature < self.n_features)).all())
            and bool(((self.children >= 0) & (self.children < nodes)).all())
            and bool(((self.roots >= 0) & (self.roots < nodes)).all())
            and bool(np.isfinite(self.value).all())
            and np.isfinite(self.base_margin)
        )
        if not in_bounds:
            raise ArtifactError("forest export is malformed (array shapes, kinds or node indices)")


def sigmoid(margin: np.ndarray) -> np.ndarray:
    """Logistic function, without overflow warnings for large |margin|."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(margin, dtype=np.float64)))


def _replace_base(forest: Forest, base_margin: float) -> Forest:
    fields = {name: getattr(forest, name) for name in forest.__dataclass_fields__}
    return Forest(**{**fields, "base_margin": base_margin})


class _Builder:
    """Collects nodes tree by tree, then freezes them into a Forest."""

    def __init__(self) -> None:
        self.feature: list[int] = []
        self.threshold: list[float] = []
        self.left: list[int] = []
        self.right: list[int] = []
        self.default_left: list[bool] = []
        self.value: list[float] = []
        self.roots: list[int] = []
        self.depth = 0

    def add_node(self) -> int:
        self.feature.append(0)
        self.threshold.append(0.0)
        self.left.append(-1)
        self.right.append(-1)
        self.default_left.append(True)
        self.value.append(0.0)
        return len(self.feature) - 1

    def build(self, n_features: int) -> Forest:
        if self.depth > _MAX_DEPTH:
            raise ArtifactError(f"trees of depth {self.depth} exceed the supported {_MAX_DEPTH}")
        children = np.empty(2 * len(self.feature), dtype=np.int32)
        children[0::2], children[1::2] = self.left, self.right
        return Forest(
            feature=np.asarray(self.feature, dtype=np.int32),
            threshold=np.asarray(self.threshold, dtype=np.float64),
            children=children,
            default_left=np.asarray(self.default_left, dtype=bool),
            value=np.asarray(self.value, dtype=np.float64),
            roots=np.asarray(self.roots, dtype=np.int32),
            depth=self.depth,
            n_features=n_features,
        )


def from_xgboost_json(model: dict[str, Any], n_features: int) -> Forest:
    """Convert `json.loads(booster.save_raw("json"))` of a binary:logistic model (base margin: calibrate)."""
    builder = _Builder()
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        lefts, rights = tree["left_children"], tree["right_children"]
        base = len(builder.feature)
        for _ in lefts:
            builder.add_node()
        builder.roots.append(base)
        for k, (left, right) in enumerate(zip(lefts, rights, strict=True)):
            node = base + k
            if left == -1:  # leaf: split_conditions holds the leaf value
                builder.value[node] = float(tree["split_conditions"][k])
                builder.left[node] = builder.right[node] = node
            else:
                builder.feature[node] = int(tree["split_indices"][k])
                builder.threshold[node] = float(np.float32(tree["split_conditions"][k]))
                builder.left[node], builder.right[node] = base + left, base + right
                builder.default_left[node] = bool(tree["default_left"][k])
        builder.depth = max(builder.depth, _depth(lefts, rights))
    return builder.build(n_features)


def from_lightgbm_dump(dump: dict[str, Any]) -> Forest:
    """Convert `booster.dump_model()` of a binary LightGBM model with numeric `<=` splits."""
    builder = _Builder()
    n_features = int(dump["max_feature_idx"]) + 1
    for info in dump["tree_info"]:
        builder.roots.append(len(builder.feature))
        depth = _add_lightgbm_node(builder, info["tree_structure"], 0)
        builder.depth = max(builder.depth, depth)
    return builder.build(n_features)


def _add_lightgbm_node(builder: _Builder, node: dict[str, Any], depth: int) -> int:
    index = builder.add_node()
    if "leaf_value" in node:
        builder.value[index] = float(node["leaf_value"])
        builder.left[index] = builder.right[index] = index
        return depth
    if node.get("decision_type") != "<=":
        raise ArtifactError(
            f"unsupported LightGBM split {node.get('decision_type')!r} (categorical features?)"
        )
    threshold = float(node["threshold"])
    builder.feature[index] = int(node["split_feature"])
    # LightGBM goes left when x <= t; the forest goes left when x < t', so t' is the next double up.
    builder.threshold[index] = float(np.nextafter(threshold, np.inf))
    missing = node.get("missing_type", "None")
    # missing_type None: LightGBM reads NaN as 0.0; NaN: the learned default direction.
    builder.default_left[index] = bool(node["default_left"]) if missing == "NaN" else threshold >= 0.0
    if missing == "Zero":
        raise ArtifactError("LightGBM zero_as_missing models are not supported")
    left_depth = _add_lightgbm_node(builder, node["left_child"], depth + 1)
    builder.left[index] = index + 1
    builder.right[index] = len(builder.feature)
    right_depth = _add_lightgbm_node(builder, node["right_child"], depth + 1)
    return max(left_depth, right_depth)


def _depth(lefts: list[int], rights: list[int]) -> int:
    deepest, stack = 0, [(0, 0)]
    while stack:
        node, depth = stack.pop()
        if lefts[node] == -1:
            deepest = max(deepest, depth)
        else:
            stack += [(lefts[node], depth + 1), (rights[node], depth + 1)]
    return deepest
