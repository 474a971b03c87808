"""Read and validate every input into one columnar data set: typed columns plus the source of each row.

Columns follow fraud_model.features' convention (money as float64, `type` as TYPE_CODES, -1 / NaN when an
optional field is absent), so FeatureSet.compute and the Scorer take them as they are. Account names are read
only when asked for (a policy backtest's lists), as Python strings (None when absent).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
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
    parts: list[dict[str, list[np.ndarray]]] = []
    fingerprints: list[dict[str, Any]] = []
    for file in resolve(uris, s3=s3):
        columns, rows = _load_file(file, quarantine, required, optional, progress=progress, s3=s3)
        parts.append(columns)
        frauds = int(sum(piece.sum() for piece in columns.get(LABEL, [])))
        fingerprints.append(
            {**file.fingerprint(), "rows": rows, "valid_rows": _len(columns), "frauds": frauds}
        )
        log.info("%s: %d rows, %d valid", file.uri, rows, _len(columns))
    return _assemble(parts, fingerprints, [*required, *optional]), quarantine


def generated_dataset(rows: int, *, fraud_rate: float, seed: int) -> tuple[Dataset, Quarantine]:
    """The seeded demo generator's output, through the same validation as files."""
    data = generator.generate(rows, fraud_rate=fraud_rate, seed=seed)
    batch = pa.record_batch(
        {name: pa.array(values) for name, values in data.items() if name in TRAIN_COLUMNS}
    )
    quarantine = Quarantine()
    uri = f"generator://rows={rows}&fraud_rate={fraud_rate}&seed={seed}"
    checked = check_batch(batch, quarantine, source=uri, first_row=1)
    fingerprint = {
        "uri": uri,
        "bytes": None,
        "sha256": None,
        "etag": None,
        "rows": rows,
        "valid_rows": rows - checked.bad,
        "frauds": int(checked.columns[LABEL].sum()),
    }
    return _assemble([{k: [v] for k, v in checked.columns.items()}], [fingerprint], TRAIN_COLUMNS), quarantine


def _load_file(
    file: DataFile,
    quarantine: Quarantine,
    required: Sequence[str],
    optional: Sequence[str],
    *,
    progress: bool,
    s3: S3Reader | None,
) -> tuple[dict[str, list[np.ndarray]], int]:
    wanted = [*required, *optional]
    parts: dict[str, list[np.ndarray]] = {}
    rows = 0
    for batch in read_batches(file, wanted, s3=s3, progress=progress):
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
        for name, values in checked.columns.items():
            parts.setdefault(name, []).append(values)
    check_header(file.uri, file.header, required)
    for line, found in file.malformed:
        quarantine.add_malformed(file.uri, line, found)
    return parts, rows + len(file.malformed)


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


def _len(columns: Mapping[str, list[np.ndarray]]) -> int:
    for pieces in columns.values():
        return int(sum(piece.size for piece in pieces))
    return 0
