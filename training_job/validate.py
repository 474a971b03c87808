"""Validate record batches against the transaction schema; unusable rows are quarantined with their reasons.

Nothing is dropped silently: every bad row is counted under each reason it has (`column:problem`), kept for
`quarantine.csv.gz` (without account names), and the job fails when too large a share of rows is bad.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fraud_model.errors import InputError
from fraud_model.schema import AMOUNT_COLUMNS, LABEL, NAME_COLUMNS, TIME, TRANSACTION_TYPES, TYPE
from training_job.errors import DataQualityError

TRAIN_COLUMNS = (TIME, TYPE, *AMOUNT_COLUMNS, LABEL)
MAX_QUARANTINE_ROWS = 100_000  # kept for the file; every bad row is counted regardless
# What Arrow's string-to-double cast accepts; anything else in a number column is "non_numeric".
_NUMBER = r"^[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[Nn][Aa][Nn]|[Ii][Nn][Ff]([Ii][Nn][Ii][Tt][Yy])?)$"
_TYPES = pa.array(TRANSACTION_TYPES)


@dataclass
class Checked:
    """The good rows of one batch, as typed numpy columns, and how many rows were bad."""

    columns: dict[str, np.ndarray]
    rows: int
    bad: int
    good: np.ndarray | None = None  # which rows of the batch these are (for columns it did not check)


@dataclass
class Quarantine:
    """Bad rows across every batch and file: counts by reason, and the first rows themselves."""

    reasons: Counter[str] = field(default_factory=Counter)
    records: list[dict[str, str]] = field(default_factory=list)
    rows: int = 0
    bad: int = 0
    by_source: Counter[str] = field(default_factory=Counter)

    def add(
        self, source: str, rows: np.ndarray, problems: dict[str, np.ndarray], batch: pa.RecordBatch
    ) -> None:
        """Count the bad rows of one batch (`problems`: reason -> row mask) and keep the first ones."""
        bad = np.zeros(len(rows), dtype=bool)
        for reason, mask in problems.items():
            self.reasons[reason] += int(mask.sum())
            bad |= mask
        count = int(bad.sum())
        self.bad += count
        self.by_source[source] += count
        keep = np.flatnonzero(bad)[: max(MAX_QUARANTINE_ROWS - len(self.records), 0)]
        if keep.size == 0:
            return
        raw = {name: batch.column(name).take(pa.array(keep)).to_pylist() for name in batch.schema.names}
        for j, i in enumerate(keep.tolist()):
            reasons = ";".join(reason for reason, mask in problems.items() if mask[i])
            record = {"source": source, "row": str(rows[i]), "reasons": reasons}
            self.records.append(record | {name: _text(values[j]) for name, values in raw.items()})

    def add_malformed(self, source: str, line: int | None, found: int) -> None:
        """A CSV line the parser could not split into the header's columns (skipped by the reader)."""
        self.reasons["row:malformed"] += 1
        self.bad += 1
        self.rows += 1
        self.by_source[source] += 1
        if len(self.records) < MAX_QUARANTINE_ROWS:
            self.records.append(
                {
                    "source": source,
                    "row": f"line {line}" if line else "",
                    "reasons": f"row:malformed ({found} columns)",
                }
            )

    def merge(self, other: Quarantine) -> None:
        """Add another quarantine's counts and kept rows (a cluster worker's), after this one's."""
        self.reasons.update(other.reasons)
        self.by_source.update(other.by_source)
        self.rows += other.rows
        self.bad += other.bad
        self.records.extend(other.records[: max(MAX_QUARANTINE_ROWS - len(self.records), 0)])

    def to_dict(self) -> dict[str, Any]:
        """Plain fields (JSON-ready: a cluster worker's quarantine travels to the client this way)."""
        return {"reasons": dict(self.reasons), "records": self.records, "rows": self.rows, "bad": self.bad,
                "by_source": dict(self.by_source)}  # fmt: skip

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> Quarantine:
        """The quarantine `to_dict` gave."""
        return cls(reasons=Counter(fields["reasons"]), records=list(fields["records"]), rows=fields["rows"],
                   bad=fields["bad"], by_source=Counter(fields["by_source"]))  # fmt: skip

    @property
    def share(self) -> float:
        return self.bad / self.rows if self.rows else 0.0

    def summary(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "quarantined": self.bad,
            "share": self.share,
            "reasons": dict(self.reasons.most_common()),
            "by_source": dict(self.by_source),
            "kept_in_file": len(self.records),
        }

    def to_csv_gz(self) -> bytes:
        fields = ["source", "row", "reasons", *TRAIN_COLUMNS]
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=fields, extrasaction="ignore", restval="")
        writer.writeheader()
        writer.writerows(self.records)
        return gzip.compress(text.getvalue().encode(), mtime=0)

    def check(self, max_bad_share: float, where: str) -> None:
        """DataQualityError when more than `max_bad_share` of the rows are bad."""
        if self.bad and self.share > max_bad_share:
            top = ", ".join(f"{reason} {count}" for reason, count in self.reasons.most_common(5))
            raise DataQualityError(
                f"{self.bad} of {self.rows} rows ({self.share:.2%}) are unusable, above the allowed "
                f"{max_bad_share:.2%} (FRAUD_MAX_BAD_SHARE); reasons: {top}; rows kept in {where}"
            )


def check_header(
    uri: str, header: Sequence[str], required: Sequence[str], *, error: type[InputError] = DataQualityError
) -> None:
    """Fail before reading further when a file lacks the label or another required column (`error`: the
    training job's exit 3, or `fraud score`'s InputError, exit 2: its exit 3 means rows were quarantined)."""
    if LABEL in required and LABEL not in header:
        raise error(
            f"{uri} has no {LABEL} column: the label is needed (columns found: {', '.join(header) or 'none'})"
        )
    missing = [name for name in required if name not in header]
    if missing:
        raise error(f"{uri} lacks required columns {', '.join(missing)}")


def check_batch(
    batch: pa.RecordBatch,
    quarantine: Quarantine,
    *,
    source: str,
    first_row: int,
    required: Sequence[str] = TRAIN_COLUMNS,
    optional: Sequence[str] = (),
) -> Checked:
    """Typed good rows of `batch`; bad rows go to `quarantine`. Absent optional values stay NaN / -1."""
    n = batch.num_rows
    problems: dict[str, np.ndarray] = {}
    columns: dict[str, np.ndarray] = {}
    for name in [*required, *optional]:
        if name not in batch.schema.names:
            continue
        values, issues = _check_column(name, batch.column(name), absent_ok=name not in required)
        columns[name] = values
        problems.update({f"{name}:{problem}": mask for problem, mask in issues.items() if mask.any()})
    bad = np.zeros(n, dtype=bool)
    for mask in problems.values():
        bad |= mask
    if bad.any():
        quarantine.add(source, np.arange(first_row, first_row + n), problems, batch)
    quarantine.rows += n
    good = ~bad
    return Checked(
        {name: values[good] for name, values in columns.items()}, rows=n, bad=int(bad.sum()), good=good
    )


def _check_column(name: str, array: pa.Array, *, absent_ok: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    if name in NAME_COLUMNS:  # identifiers: any text, as Python strings (None = absent)
        text = array if pa.types.is_string(array.type) else pc.cast(array, pa.string())
        missing = _mask(text.is_null())
        return np.asarray(text.to_numpy(zero_copy_only=False), dtype=object), {
            "missing": missing & (not absent_ok)
        }
    if name == TYPE:
        codes, missing, unknown = _type_codes(array)
        return codes, {"missing": missing & (not absent_ok), "unknown": unknown}
    values, missing, non_numeric = _numbers(array)
    issues = {"missing": missing & (not absent_ok), "non_numeric": non_numeric}
    present = ~missing & ~non_numeric
    with np.errstate(invalid="ignore"):
        if name == LABEL:
            issues["invalid"] = present & (values != 0) & (values != 1)
            return values, issues
        if name == TIME:
            issues["invalid"] = present & ~(
                np.isfinite(values) & (values >= 0) & (values == np.floor(values))
            )
            return values, issues
        issues["non_finite"] = present & ~np.isfinite(values)
        issues["negative"] = present & (values < 0)
    return values, issues


def _numbers(array: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(float64 values with NaN where absent or unparseable, missing mask, non-numeric mask)."""
    missing = _mask(array.is_null())
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type) or pa.types.is_boolean(array.type):
        return _floats(pc.cast(array, pa.float64())), missing, np.zeros(len(array), dtype=bool)
    text = array if pa.types.is_string(array.type) else pc.cast(array, pa.string())
    try:
        return _floats(pc.cast(text, pa.float64())), missing, np.zeros(len(array), dtype=bool)
    except pa.ArrowInvalid:
        pass  # a stray non-number in this batch: find it, blank it, cast the rest
    numeric = pc.match_substring_regex(text, _NUMBER)
    non_numeric = ~missing & ~_mask(numeric.fill_null(False))
    cleaned = pc.if_else(numeric.fill_null(False), text, pa.scalar(None, pa.string()))
    try:
        return _floats(pc.cast(cleaned, pa.float64())), missing, non_numeric
    except pa.ArrowInvalid:
        return _python_floats(text, missing)


def _python_floats(text: pa.Array, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = np.full(len(text), np.nan)
    non_numeric = np.zeros(len(text), dtype=bool)
    for i, item in enumerate(text.to_pylist()):
        if item is not None:
            try:
                values[i] = float(item)
            except ValueError:
                non_numeric[i] = True
    return values, missing, non_numeric


def _type_codes(array: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    text = array if pa.types.is_string(array.type) else pc.cast(array, pa.string())
    codes = pc.index_in(text, value_set=_TYPES)
    missing = _mask(text.is_null())
    unknown = ~missing & _mask(codes.is_null())
    return codes.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int8), missing, unknown


def _floats(array: pa.Array) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)


def _mask(array: pa.Array) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=bool)


def _text(value: object) -> str:
    return "" if value is None else str(value)
