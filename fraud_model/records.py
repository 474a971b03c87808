"""The decision record: one row per answered transaction, its schema versioned, written by the API and the
jobs and read by `fraud records`, the labels join and the exports.

A record holds what was scored (the transaction's fields, account names as keyed hashes by default), by which
model and policy versions, and the answer. Records are kept as columns: a batch of 1,000 answers is one chunk,
not 1,000 objects. `records/date=YYYY-MM-DD/part-*.parquet` in the store is the local form; on AWS the
function writes each chunk as one log line (`LOG_MARKER`) that a subscription delivers to the same prefix.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

RECORD_SCHEMA_VERSION = 1
RECORDS_PREFIX = "records"
LOG_MARKER = "fraud_decisions"  # a decision log line's `record` field: what the subscription filter matches
NameMode = Literal["hash", "plain", "omit"]

# (column, Arrow type) in file order; the README's "decision record" table documents each.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("schema_version", "int16"),
    ("record_id", "string"),  # "<request id>:<item>": what labels refer to
    ("request_id", "string"),
    ("item", "int32"),  # the transaction's position in its request (0 for /predict)
    ("received_at", "timestamp"),  # UTC, microseconds
    ("source", "string"),  # predict | batch | score
    ("step", "int64"),
    ("type", "string"),
    ("amount", "float64"),
    ("oldbalanceOrg", "float64"),
    ("newbalanceOrig", "float64"),
    ("oldbalanceDest", "float64"),
    ("newbalanceDest", "float64"),
    ("nameOrig", "string"),  # keyed hash (HMAC-SHA256, 32 hex), plain, or absent: see `names`
    ("nameDest", "string"),
    ("names", "string"),  # hmac-sha256 | plain | omitted
    ("fraud_probability", "float64"),
    ("threshold", "float64"),
    ("is_fraud", "bool"),
    ("feature_set", "string"),
    ("model_version", "string"),
    ("outcome", "string"),
    ("matched_rules", "list<string>"),
    ("policy_version", "string"),
    ("challenger_probability", "float64"),  # none yet: a shadow challenger fills it
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)
TRANSACTION_FIELDS = ("step", "type", "amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest",
                      "newbalanceDest", "nameOrig", "nameDest")  # fmt: skip


@dataclass
class Chunk:
    """The records of one request (or one part of a scored file), as columns of equal length."""

    request_id: str
    source: str
    received_at: datetime
    model_version: str
    policy_version: str
    fields: Mapping[
        str, Any
    ]  # TRANSACTION_FIELDS: sequences or arrays, None (or NaN) = absent; names as given
    fraud_probability: Sequence[float] | np.ndarray
    threshold: Sequence[float] | np.ndarray
    is_fraud: Sequence[bool] | np.ndarray
    feature_set: Sequence[str]
    outcome: Sequence[str]
    matched_rules: Sequence[Sequence[str]]
    first_item: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.outcome)


def now() -> datetime:
    return datetime.now(UTC)


class Names:
    """How account names are recorded: keyed hashes (the default; without a key they are omitted), plain
    (only when configured), or omitted."""

    def __init__(self, mode: NameMode = "hash", key: str | None = None) -> None:
        self.mode: NameMode = mode if mode != "hash" or key else "omit"
        self.key = key.encode() if key else b""
        self.label = {"hash": "hmac-sha256", "plain": "plain", "omit": "omitted"}[self.mode]

    def apply(self, values: Sequence[str | None]) -> list[str | None]:
        if self.mode == "plain":
            return list(values)
        if self.mode == "omit":
            return [None] * len(values)
        key = self.key
        cache: dict[str, str] = {}  # a name repeats within a file: hashed once
        out: list[str | None] = []
        for value in values:
            if value is None:
                out.append(None)
                continue
            digest = cache.get(value)
            if digest is None:
                digest = cache[value] = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]
            out.append(digest)
        return out


def to_columns(chunks: Sequence[Chunk], names: Names) -> dict[str, list[Any]]:
    """The records of `chunks` as COLUMNS-ordered lists (Python values, None = null)."""
    out: dict[str, list[Any]] = {name: [] for name in COLUMN_NAMES}
    for chunk in chunks:
        rows = len(chunk)
        items = range(chunk.first_item, chunk.first_item + rows)
        out["schema_version"] += [RECORD_SCHEMA_VERSION] * rows
        out["record_id"] += [f"{chunk.request_id}:{i}" for i in items]
        out["request_id"] += [chunk.request_id] * rows
        out["item"] += list(items)
        out["received_at"] += [chunk.received_at] * rows
        out["source"] += [chunk.source] * rows
        for name in TRANSACTION_FIELDS:
            given = chunk.fields.get(name)
            values = [None] * rows if given is None else _list(given)
            if name in ("nameOrig", "nameDest"):
                values = names.apply(values)
            elif name == "step":
                values = [None if v is None or v != v else int(v) for v in values]  # NaN: absent
            elif name != "type":
                values = [None if v is None or v != v else float(v) for v in values]
            out[name] += values
        out["names"] += [names.label] * rows
        out["fraud_probability"] += _floats(chunk.fraud_probability)
        out["threshold"] += _floats(chunk.threshold)
        out["is_fraud"] += [bool(v) for v in _list(chunk.is_fraud)]
        out["feature_set"] += list(chunk.feature_set)
        out["model_version"] += [chunk.model_version] * rows
        out["outcome"] += list(chunk.outcome)
        out["matched_rules"] += [list(m) for m in chunk.matched_rules]
        out["policy_version"] += [chunk.policy_version] * rows
        out["challenger_probability"] += [None] * rows
    return out


def arrow_schema() -> Any:
    import pyarrow as pa

    types = {"int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(), "float64": pa.float64(),
             "bool": pa.bool_(), "string": pa.string(), "timestamp": pa.timestamp("us", tz="UTC"),
             "list<string>": pa.list_(pa.string())}  # fmt: skip
    return pa.schema([(name, types[kind]) for name, kind in COLUMNS])


def to_table(chunks: Sequence[Chunk], names: Names) -> Any:
    import pyarrow as pa

    return pa.table(to_columns(chunks, names), schema=arrow_schema())


def partition(day: datetime) -> str:
    return f"{RECORDS_PREFIX}/date={day.astimezone(UTC):%Y-%m-%d}"


def _floats(values: Sequence[float] | np.ndarray) -> list[float]:
    return values.tolist() if isinstance(values, np.ndarray) else [float(v) for v in values]


def _list(values: Sequence[Any] | np.ndarray) -> list[Any]:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def read(store: Any, *, since: datetime | None = None, until: datetime | None = None) -> Any:
    """Every record in the store received in [since, until) (either bound optional), as one Arrow table."""
    import io

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    tables = []
    for key in sorted(store.list(RECORDS_PREFIX)):
        day = _day(key)
        if not key.endswith(".parquet") or day is None:
            continue
        if (since is not None and day < since.astimezone(UTC).date()) or (
            until is not None and day > until.astimezone(UTC).date()
        ):
            continue
        tables.append(pq.read_table(io.BytesIO(store.read(key))))
    if not tables:
        return arrow_schema().empty_table()
    table = pa.concat_tables(tables, promote_options="default")
    if since is not None:
        table = table.filter(
            pc.greater_equal(table["received_at"], pa.scalar(since, pa.timestamp("us", "UTC")))
        )
    if until is not None:
        table = table.filter(pc.less(table["received_at"], pa.scalar(until, pa.timestamp("us", "UTC"))))
    return table


def _day(key: str) -> Any:
    for part in key.split("/"):
        if part.startswith("date="):
            try:
                return datetime.strptime(part[5:], "%Y-%m-%d").date()
            except ValueError:
                return None
    return None
