"""The streamed training split as the boosters' streaming constructors read it: an `xgboost.DataIter` for
`QuantileDMatrix` and a `lightgbm.Sequence` for `lightgbm.Dataset`, features computed batch by batch by the
shared contract. Only the libraries' quantised matrices are ever whole; the raw rows never are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import xgboost as xgb

from fraud_model.features import FeatureSet
from training_job.stream import TrainStream


@dataclass(frozen=True)
class Streamed:
    """One feature set's training matrix, computed batch by batch from a TrainStream (see train.TrainData)."""

    stream: TrainStream
    feature_set: FeatureSet

    @property
    def y(self) -> np.ndarray:
        return self.stream.labels

    @property
    def weight(self) -> np.ndarray | None:
        return self.stream.weights

    def features(self, index: int) -> np.ndarray:
        """The float32 features of batch `index`."""
        return self.feature_set.compute(self.stream.batch(index))

    def xgboost_matrix(self, nthread: int) -> xgb.QuantileDMatrix:
        return xgb.QuantileDMatrix(_Batches(self), nthread=nthread)

    def lightgbm_data(self) -> Any:
        return _Rows(self)

    def feature_batches(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        weight = self.weight
        for index in range(self.stream.batches):
            rows = self.stream.rows(index)
            yield self.features(index), self.y[rows], None if weight is None else weight[rows]


class _Batches(xgb.DataIter):
    """XGBoost reads the batches twice (sketch, then quantise); each is released once it is consumed."""

    def __init__(self, data: Streamed) -> None:
        super().__init__(release_data=True)
        self._data = data
        self._next = 0

    def next(self, input_data: Callable[..., None]) -> bool:
        if self._next >= self._data.stream.batches:
            return False
        rows = self._data.stream.rows(self._next)
        weight = self._data.weight
        input_data(
            data=self._data.features(self._next),
            label=self._data.y[rows],
            weight=None if weight is None else weight[rows],
        )
        self._next += 1
        return True

    def reset(self) -> None:
        self._next = 0


class _Rows(lgb.Sequence):
    """LightGBM samples single rows (sorted indexes: one batch decoded at a time), then pushes `batch_size`
    ranges, which are the stream's own batches."""

    def __init__(self, data: Streamed) -> None:
        self._data = data
        self.batch_size = data.stream.batch_rows
        self._cached: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self._data.stream)

    def __getitem__(self, idx: int | slice | list[int]) -> np.ndarray:
        size = self.batch_size
        if isinstance(idx, slice):
            start, stop, step = idx.indices(len(self))
            if step != 1:
                raise TypeError("only contiguous row ranges are supported")
            if stop <= start:
                return np.empty((0, len(self._data.feature_set.features)), dtype=np.float32)
            parts = [
                self._batch(b)[max(start - b * size, 0) : stop - b * size]
                for b in range(start // size, (stop - 1) // size + 1)
            ]
            return parts[0] if len(parts) == 1 else np.concatenate(parts)
        if isinstance(idx, list):
            return np.stack([self[i] for i in idx])
        row = int(idx) + len(self) if int(idx) < 0 else int(idx)
        # LightGBM's sampler takes doubles; float32 -> float64 is exact, as in its own conversion of arrays
        return self._batch(row // size)[row % size].astype(np.float64)

    def _batch(self, index: int) -> np.ndarray:
        if self._cached is None or self._cached[0] != index:
            self._cached = (index, self._data.features(index))
        return self._cached[1]
