"""Read and validate every input into one columnar data set: typed columns plus the source of each row.

Columns follow fraud_model.features' convention (money as float64, `type` as TYPE_CODES, -1 / NaN when an
optional field is absent), so FeatureSet.compute and the Scorer take them as they are. Account names are read
only when asked for (a policy backtest's lists), as Python strings (None when absent).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from fraud_model.schema import LABEL, NAME_COLUMNS, TIME, TYPE
from training_job import generator
from training_job.load import DataFile, S3Reader, read_batches, resolve
from training_job.validate import TRAIN_COLUMNS, Quarantine, check_batch, check_header

log = logging.getLogger(__name__)

_DTYPES = {TIME: np.int32, TYPE: np.int8, LABEL: np.int8}


@dataclass
class Dataset:
    """Valid rows of every source, in input order; `source[i]` indexes `sources`."""

    columns: dict[str, np.ndarray]
    source: np.ndarray  # int16
    sources: list[dict[str, Any]] = field(default_factory=list)  # fingerprints: uri, bytes, sha256, rows...

    def __len__(self) -> int:
        return int(self.source.size)

    @property
    def labels(self) -> np.ndarray:
        return self.columns[LABEL]

    def take(self, rows: np.ndarray) -> Dataset:
        """The rows selected by a boolean mask or an index array."""
        return Dataset({k: v[rows] for k, v in self.columns.items()}, self.source[rows], self.sources)

    def chunks(self, size: int) -> Iterable[tuple[slice, dict[str, np.ndarray]]]:
        for start in range(0, len(self), size):
            part = slice(start, min(start + size, len(self)))
            yield part, {name: values[part] for name, values in self.columns.items()}


def load_dataset(
    uris: Sequence[str],
    *,
    required: Sequence[str] = TRAIN_COLUMNS,
    optional: Sequence[str] = (),
    progress: bool = False,
    s3: S3Reader | None = None,
) -> tuple[Dataset, Quarantine]:
    """Every file behind `uris`, validated; bad rows are in the returned Quarantine, never in the Dataset."""
    quarantine = Quarantine()
    fingerprints: list[dict[str, Any]] = []
    parts: list[dict[str, list[np.ndarray]]] = []
    batches = valid_batches(
        uris, quarantine, fingerprints, required=required, optional=optional, progress=progress, s3=s3
    )
    for index, columns in batches:
        parts.extend({} for _ in range(index + 1 - len(parts)))
        for name, values in columns.items():
            parts[index].setdefault(name, []).append(values)
    parts.extend({} for _ in range(len(fingerprints) - len(parts)))  # files without a valid row
    return _assemble(parts, fingerprints, [*required, *optional]), quarantine


def valid_batches(
    uris: Sequence[str],
    quarantine: Quarantine,
    fingerprints: list[dict[str, Any]],
    *,
    required: Sequence[str] = TRAIN_COLUMNS,
    optional: Sequence[str] = (),
    progress: bool = False,
    s3: S3Reader | None = None,
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """(file index, typed valid columns) batch by batch; bad rows go to `quarantine`, and each file's
    fingerprint is appended to `fingerprints` once the file has been read."""
    for index, file in enumerate(resolve(uris, s3=s3)):
        rows = valid = frauds = 0
        for columns, read in _file_batches(file, quarantine, required, optional, progress=progress, s3=s3):
            rows += read
            valid += _len1(columns)
            frauds += int(columns[LABEL].sum()) if LABEL in columns else 0
            yield index, columns
        rows += len(file.malformed)
        fingerprints.append({**file.fingerprint(), "rows": rows, "valid_rows": valid, "frauds": frauds})
        log.info("%s: %d rows, %d valid", file.uri, rows, valid)


def generated_dataset(rows: int, *, fraud_rate: float, seed: int) -> tuple[Dataset, Quarantine]:
    """The seeded demo generator's output, through the same validation as files."""
    quarantine = Quarantine()
    fingerprints: list[dict[str, Any]] = []
    batches = generated_batches(rows, fraud_rate=fraud_rate, seed=seed, quarantine=quarantine,
                                fingerprints=fingerprints, batch_rows=rows)  # fmt: skip
    parts = [{k: [v] for k, v in columns.items()} for _, columns in batches]
    return _assemble(parts, fingerprints, TRAIN_COLUMNS), quarantine


def generated_batches(
    rows: int,
    *,
    fraud_rate: float,
    seed: int,
    quarantine: Quarantine,
    fingerprints: list[dict[str, Any]],
    batch_rows: int,
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """The demo generator's rows, validated in batches of `batch_rows` (source index 0)."""
    data = generator.generate(rows, fraud_rate=fraud_rate, seed=seed)
    uri = f"generator://rows={rows}&fraud_rate={fraud_rate}&seed={seed}"
    valid = frauds = 0
    for start in range(0, rows, batch_rows):
        batch = pa.record_batch(
            {
                name: pa.array(v[start : start + batch_rows])
                for name, v in data.items()
                if name in TRAIN_COLUMNS
            }
        )
        checked = check_batch(batch, quarantine, source=uri, first_row=start + 1)
        valid += _len1(checked.columns)
        frauds += int(checked.columns[LABEL].sum())
        yield 0, checked.columns
    fingerprints.append(
        {
            "uri": uri,
            "bytes": None,
            "sha256": None,
            "etag": None,
            "rows": rows,
            "valid_rows": valid,
            "frauds": frauds,
        }  # fmt: skip
    )


def _file_batches(
    file: DataFile,
    quarantine: Quarantine,
    required: Sequence[str],
    optional: Sequence[str],
    *,
    progress: bool,
    s3: S3Reader | None,
) -> Iterator[tuple[dict[str, np.ndarray], int]]:
    """(valid columns, rows read) of each batch of a file; its malformed lines are quarantined at the end."""
    rows = 0
    for batch in read_batches(file, [*required, *optional], s3=s3, progress=progress):
        if rows == 0:
            check_header(file.uri, file.header, required)  # fail on the first batch, not after the last
        checked = check_batch(
            batch,
            quarantine,
            source=file.uri,
            first_row=rows + 1,
            required=required,
            optional=[n for n in optional if n in file.header],
        )
        rows += checked.rows
        yield checked.columns, checked.rows
    check_header(file.uri, file.header, required)
    for line, found in file.malformed:
        quarantine.add_malformed(file.uri, line, found)


def _assemble(
    parts: list[dict[str, list[np.ndarray]]], fingerprints: list[dict[str, Any]], names: Sequence[str]
) -> Dataset:
    """One array per column across files; a column a file lacks (optional fields only) is absent there."""
    lengths = [_len(cols) for cols in parts]
    source = np.repeat(np.arange(len(parts), dtype=np.int16), lengths)
    columns: dict[str, np.ndarray] = {}
    for name in names:
        dtype = object if name in NAME_COLUMNS else _DTYPES.get(name, np.float64)
        blank = -1 if name == TYPE else None if name in NAME_COLUMNS else np.nan
        pieces = [
            np.concatenate(cols[name])
            if name in cols
            else np.full(length, blank, dtype=object if blank is None else None)
            for cols, length in zip(parts, lengths, strict=True)
        ]
        for cols in parts:
            cols.pop(name, None)  # free the batches as soon as they are copied
        columns[name] = np.concatenate(pieces).astype(dtype, copy=False) if pieces else np.empty(0, dtype)
    return Dataset(columns, source, fingerprints)


def _len1(columns: Mapping[str, np.ndarray]) -> int:
    return int(next(iter(columns.values())).size) if columns else 0


def _len(columns: Mapping[str, list[np.ndarray]]) -> int:
    for pieces in columns.values():
        return int(sum(piece.size for piece in pieces))
    return 0
