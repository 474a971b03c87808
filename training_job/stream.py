"""The training data as a stream of record batches, so that no step holds every row.

Pass 1 (`spill`) validates every input once, writes the valid rows to a local Arrow file and keeps only the
summary columns the time split, the outlier measurement and the class counts need. Pass 2 (`partition`) reads
that file back: training rows go to their own Arrow file in fixed-size batches, which the boosters read as
often as they need (feed.py); validation and holdout rows are kept in memory, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from fraud_model.schema import AMOUNT_COLUMNS, LABEL, TIME, TYPE
from training_job.augment import eligible
from training_job.dataset import Dataset
from training_job.split import HOLDOUT, TRAIN, VALIDATION, StepCuts

log = logging.getLogger(__name__)

SOURCE = "_source"
_SCHEMA = pa.schema(
    [(TIME, pa.int32()), (TYPE, pa.int8()), *((name, pa.float64()) for name in AMOUNT_COLUMNS)]
    + [(LABEL, pa.int8()), (SOURCE, pa.int16())]
)
_DTYPES = {field.name: field.type.to_pandas_dtype() for field in _SCHEMA}


@dataclass
class Summary:
    """Per valid row, in input order: what the split, the outlier measurement and the class counts need."""

    steps: np.ndarray  # int32
    amount: np.ndarray  # float64
    labels: np.ndarray  # int8
    source: np.ndarray  # int16


def spill(batches: Iterable[tuple[int, dict[str, np.ndarray]]], path: Path) -> Summary:
    """Pass 1: write every valid batch (source index, typed columns) to `path`; return the summary columns."""
    kept: dict[str, list[np.ndarray]] = {TIME: [], "amount": [], LABEL: [], SOURCE: []}
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, _SCHEMA) as writer:
        for index, checked in batches:
            columns = typed(checked, index)
            if not columns[LABEL].size:
                continue
            writer.write_batch(pa.record_batch(list(map(pa.array, columns.values())), schema=_SCHEMA))
            for name, pieces in kept.items():
                pieces.append(columns[name])
    joined = {
        name: np.concatenate(pieces) if pieces else np.empty(0, _DTYPES[name])
        for name, pieces in kept.items()
    }
    return Summary(joined[TIME], joined["amount"], joined[LABEL], joined[SOURCE])


def read(path: Path) -> Iterator[dict[str, np.ndarray]]:
    """The batches of an Arrow file written here, as numpy columns (read, not mapped: one batch in RSS)."""
    with pa.OSFile(str(path)) as source:
        reader = pa.ipc.open_file(source)
        for i in range(reader.num_record_batches):
            yield _numpy(reader.get_batch(i))


@dataclass
class TrainStream:
    """The training split in an Arrow file of `batch_rows`-row batches (the last may be shorter); labels and
    weights (present only with evasive copies) stay in memory: the boosters take them as arrays. The evasive
    copies, if any, are the rows from `plain_rows` on."""

    path: Path
    batch_rows: int
    labels: np.ndarray
    weights: np.ndarray | None = None
    plain_rows: int | None = None  # None: no copies

    def plain(self) -> TrainStream:
        """The same file read without the evasive copies: the rows and batches there were before them."""
        if self.plain_rows is None:
            return self
        return TrainStream(self.path, self.batch_rows, self.labels[: self.plain_rows])

    def __len__(self) -> int:
        return int(self.labels.size)

    @property
    def batches(self) -> int:
        return -(-len(self) // self.batch_rows)

    def batch(self, index: int) -> dict[str, np.ndarray]:
        with pa.OSFile(str(self.path)) as source:
            batch = pa.ipc.open_file(source).get_batch(index)
        rows = self.rows(index)
        return _numpy(
            batch if batch.num_rows == rows.stop - rows.start else batch.slice(0, rows.stop - rows.start)
        )

    def rows(self, index: int) -> slice:
        """Which training rows batch `index` holds."""
        return slice(index * self.batch_rows, min((index + 1) * self.batch_rows, len(self)))


def partition(
    path: Path,
    cuts: list[StepCuts],
    out: Path,
    *,
    batch_rows: int,
    keep: np.ndarray | None = None,
    copies: Callable[[Dataset], Dataset] | None = None,
    copy_weight: float = 1.0,
    sources: list[dict[str, Any]] | None = None,
) -> tuple[TrainStream, Dataset, Dataset]:
    """Pass 2: the spilled rows split by each source's cuts. `keep` (over training rows, in order) drops
    outliers; `copies` turns the eligible training frauds into extra training rows, appended at the end."""
    train_until = np.array([cut.train_until for cut in cuts])
    validation_until = np.array([cut.validation_until for cut in cuts])
    held: dict[int, dict[str, list[np.ndarray]]] = {VALIDATION: {}, HOLDOUT: {}}
    frauds: dict[str, list[np.ndarray]] = {}
    labels: list[np.ndarray] = []
    seen = 0
    with _Batcher(out, batch_rows) as batcher:
        for columns in read(path):
            steps, source = columns[TIME], columns[SOURCE]
            split = np.where(
                steps <= train_until[source],
                TRAIN,
                np.where(steps <= validation_until[source], VALIDATION, HOLDOUT),
            )
            for code, pieces in held.items():
                _append(pieces, columns, split == code)
            train = split == TRAIN
            if keep is not None:
                rows = int(train.sum())
                train[train] = keep[seen : seen + rows]
                seen += rows
            if copies is not None:
                _append(frauds, columns, train & eligible(columns))
            chosen = {name: values[train] for name, values in columns.items()}
            batcher.add(chosen)
            labels.append(chosen[LABEL])
        weights, plain_rows = None, None
        if copies is not None and frauds:
            extra = copies(as_dataset(frauds, sources))
            if len(extra):
                plain_rows = batcher.rows
                batcher.add({**extra.columns, SOURCE: extra.source})
                labels.append(extra.labels)
                weights = np.r_[np.ones(batcher.rows - len(extra)), np.full(len(extra), copy_weight)]
    train_labels = np.concatenate(labels) if labels else np.empty(0, np.int8)
    stream = TrainStream(out, batch_rows, train_labels, weights, plain_rows)
    log.info("training rows streamed from %s: %d rows in %d batches", out, len(stream), stream.batches)
    return stream, as_dataset(held[VALIDATION], sources), as_dataset(held[HOLDOUT], sources)


class _Batcher:
    """Writes rows to an Arrow file in batches of exactly `rows` rows (the last one: what is left)."""

    def __init__(self, path: Path, rows: int) -> None:
        self._sink = pa.OSFile(str(path), "wb")
        self._writer = pa.ipc.new_file(self._sink, _SCHEMA)
        self._size = rows
        self._pending: list[dict[str, np.ndarray]] = []
        self._buffered = 0
        self.rows = 0

    def __enter__(self) -> _Batcher:
        return self

    def add(self, columns: dict[str, np.ndarray]) -> None:
        self._pending.append({name: columns[name] for name in _SCHEMA.names})
        self._buffered += int(columns[LABEL].size)
        self.rows += int(columns[LABEL].size)
        while self._buffered >= self._size:
            self._flush(self._size)

    def _flush(self, rows: int) -> None:
        joined = {name: np.concatenate([part[name] for part in self._pending]) for name in _SCHEMA.names}
        self._writer.write_batch(
            pa.record_batch([pa.array(joined[name][:rows]) for name in _SCHEMA.names], schema=_SCHEMA)
        )
        rest = {name: values[rows:] for name, values in joined.items()}
        self._buffered -= rows
        self._pending = [rest] if self._buffered else []

    def __exit__(self, *exc: object) -> None:
        try:
            if self._buffered and not exc[0]:
                self._flush(self._buffered)
            self._writer.close()
        finally:
            self._sink.close()


def typed(checked: dict[str, np.ndarray], index: int) -> dict[str, np.ndarray]:
    """A validated batch in the stream's schema (source `index` added): the spill's and a cluster worker's."""
    columns = {
        name: checked[name].astype(_DTYPES[name], copy=False) for name in _SCHEMA.names if name != SOURCE
    }
    columns[SOURCE] = np.full(columns[LABEL].size, index, dtype=np.int16)
    return columns


def _numpy(batch: pa.RecordBatch) -> dict[str, np.ndarray]:
    return {name: batch.column(name).to_numpy() for name in batch.schema.names}


def _append(pieces: dict[str, list[np.ndarray]], columns: dict[str, np.ndarray], rows: np.ndarray) -> None:
    if rows.any():
        for name, values in columns.items():
            pieces.setdefault(name, []).append(values[rows])


def as_dataset(pieces: dict[str, list[np.ndarray]], sources: list[dict[str, Any]] | None) -> Dataset:
    """Column pieces in the stream's schema as one Dataset (a column with no piece: empty)."""
    columns = {
        name: np.concatenate(pieces[name]) if name in pieces else np.empty(0, _DTYPES[name])
        for name in _SCHEMA.names
    }
    source = columns.pop(SOURCE)
    return Dataset(columns, source, sources or [])
