"""The decision record: one row per answered transaction, its schema versioned, written by the API and the
jobs and read by `fraud records`, the labels join and the exports.

A record holds what was scored (the transaction's fields, account names as keyed hashes by default), by which
model and policy versions, and the answer. Records are kept as columns: a batch of 1,000 answers is one chunk,
not 1,000 objects. `records/date=YYYY-MM-DD/part-*.parquet` in the store is the local form; on AWS the
function writes each chunk as one log line (`LOG_MARKER`) that a subscription delivers to the same prefix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
    ("nameOrig", "string"),  # keyed hash (32 hex digits), plain, or absent: see `names`
    ("nameDest", "string"),
    ("names", "string"),  # blake2b-128 | plain | omitted
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

    def __len__(self) -> int:
        return len(self.outcome)


def now() -> datetime:
    return datetime.now(UTC)


class Names:
    """How account names are recorded: keyed hashes (the default: BLAKE2b-128 keyed with the operator's
    secret, RFC 7693's MAC mode; without a key names are omitted), plain (only when configured), or omitted.
    Hashes are remembered (up to `_REMEMBERED` names): accounts recur, and hashing is the record's
    largest per-row cost."""

    def __init__(self, mode: NameMode = "hash", key: str | None = None) -> None:
        self.mode: NameMode = mode if mode != "hash" or key else "omit"
        self.key = key.encode() if key else b""
        self.label = {"hash": "blake2b-128", "plain": "plain", "omit": "omitted"}[self.mode]
        self._known: dict[str, str] = {}

    def apply(self, values: Sequence[str | None]) -> list[str | None]:
        if self.mode == "plain":
            return list(values)
        if self.mode == "omit":
            return [None] * len(values)
        known = self._known
        if len(known) > _REMEMBERED:
            known.clear()
        out: list[str | None] = list(map(known.get, values))  # type: ignore[arg-type]  # get(None): None
        if None in out:
            for i, value in enumerate(values):
                if out[i] is None and value is not None:
                    out[i] = known[value] = self.hash(value)
        return out

    def hash(self, value: str) -> str:
        return hashlib.blake2b(value.encode(), key=self.key, digest_size=16).hexdigest()


_REMEMBERED = 500_000


def columns(chunk: Chunk, names: Names) -> dict[str, Any]:
    """One chunk's record columns: what is the same for every row as a single value, the rest as lists or
    numpy arrays (money and probabilities as given: NaN = absent). `record_id` is derived when read."""
    rows = len(chunk)
    out: dict[str, Any] = {
        "schema_version": RECORD_SCHEMA_VERSION, "request_id": chunk.request_id,
        "item": np.arange(chunk.first_item, chunk.first_item + rows, dtype=np.int32),
        "received_at": chunk.received_at, "source": chunk.source, "names": names.label,
        "model_version": chunk.model_version, "policy_version": chunk.policy_version,
    }  # fmt: skip
    for name in TRANSACTION_FIELDS:
        given = chunk.fields.get(name)
        values = [None] * rows if given is None else given
        if name in ("nameOrig", "nameDest"):
            values = names.apply(_list(values))
        out[name] = values
    out.update(fraud_probability=chunk.fraud_probability, threshold=chunk.threshold,
               is_fraud=chunk.is_fraud, feature_set=chunk.feature_set, outcome=chunk.outcome,
               matched_rules=chunk.matched_rules, challenger_probability=[None] * rows)  # fmt: skip
    return out


def log_line(chunk: Chunk, names: Names, *, rows: int) -> list[bytes]:
    """JSON lines of a chunk (at most `rows` rows each): the values every row shares once, the rest as
    arrays (absent numbers are null)."""
    import msgspec

    if len(chunk) == 1:  # /predict: the same line, built without the columns' machinery
        return [msgspec.json.encode(_one_row(chunk, names))]
    data = columns(chunk, names)
    head = {"record": LOG_MARKER, **{k: v for k, v in data.items() if not _is_column(v)}}
    head["received_at"] = chunk.received_at.isoformat()
    body = {k: _json_list(v) for k, v in data.items() if _is_column(v)}
    lines = []
    for start in range(0, len(chunk), rows):
        part = {k: v[start : start + rows] for k, v in body.items()}
        lines.append(msgspec.json.encode({**head, **part}))  # NaN is written as null
    return lines


def _one_row(chunk: Chunk, names: Names) -> dict[str, Any]:
    fields = chunk.fields
    line: dict[str, Any] = {
        "record": LOG_MARKER, "schema_version": RECORD_SCHEMA_VERSION, "request_id": chunk.request_id,
        "received_at": chunk.received_at.isoformat(), "source": chunk.source, "names": names.label,
        "model_version": chunk.model_version, "policy_version": chunk.policy_version,
        "item": [chunk.first_item],
    }  # fmt: skip
    for name in TRANSACTION_FIELDS:
        values = fields.get(name)
        line[name] = [None] if values is None else [values[0]]
    line["nameOrig"] = names.apply(line["nameOrig"])
    line["nameDest"] = names.apply(line["nameDest"])
    line.update(fraud_probability=[float(chunk.fraud_probability[0])], threshold=[float(chunk.threshold[0])],
                is_fraud=[bool(chunk.is_fraud[0])], feature_set=[chunk.feature_set[0]],
                outcome=[chunk.outcome[0]], matched_rules=[chunk.matched_rules[0]],
                challenger_probability=[None])  # fmt: skip
    return line


def to_table(chunks: Sequence[Chunk], names: Names) -> Any:
    """The records of `chunks` as one Arrow table (the Parquet parts' form: without `record_id`)."""
    import pyarrow as pa

    schema = arrow_schema(stored=True)
    tables = []
    for chunk in chunks:
        data, rows = columns(chunk, names), len(chunk)
        arrays = []
        for column in schema:
            value = data.get(column.name)
            if column.name == "challenger_probability":
                arrays.append(pa.nulls(rows, column.type))
            elif not _is_column(value):  # one value for every row
                arrays.append(pa.repeat(pa.scalar(value, column.type), rows))
            elif isinstance(value, np.ndarray):  # NaN -> null (a float step: cast after)
                arrays.append(pa.array(value, from_pandas=True).cast(column.type))
            elif column.name == "step" and isinstance(value, list | tuple):  # whole numbers or None
                arrays.append(pa.array(value, column.type))
            else:
                arrays.append(pa.array(value, column.type, from_pandas=column.type == pa.float64()))
        tables.append(pa.Table.from_arrays(arrays, schema=schema))
    return pa.concat_tables(tables) if tables else schema.empty_table()


def _is_column(value: Any) -> bool:
    return isinstance(value, np.ndarray | list | tuple)


def _json_list(value: Any) -> list[Any]:
    return value.tolist() if isinstance(value, np.ndarray) else list(value)


def arrow_schema(*, stored: bool = False) -> Any:
    import pyarrow as pa

    types = {"int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(), "float64": pa.float64(),
             "bool": pa.bool_(), "string": pa.string(), "timestamp": pa.timestamp("us", tz="UTC"),
             "list<string>": pa.list_(pa.string())}  # fmt: skip
    return pa.schema([(name, types[kind]) for name, kind in COLUMNS if not (stored and name == "record_id")])


def partition(day: datetime) -> str:
    return f"{RECORDS_PREFIX}/date={day.astimezone(UTC):%Y-%m-%d}"


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
        if day is None or not key.endswith((".parquet", ".gz")):
            continue
        if (since is not None and day < since.astimezone(UTC).date()) or (
            until is not None and day > until.astimezone(UTC).date()
        ):
            continue
        data = store.read(key)
        tables.append(pq.read_table(io.BytesIO(data)) if key.endswith(".parquet") else _from_lines(data))
    if not tables:
        return arrow_schema().empty_table()
    table = pa.concat_tables(tables, promote_options="default")
    record_id = pc.binary_join_element_wise(table["request_id"], pc.cast(table["item"], pa.string()), ":")
    table = table.add_column(1, "record_id", record_id)
    if since is not None:
        table = table.filter(
            pc.greater_equal(table["received_at"], pa.scalar(since, pa.timestamp("us", "UTC")))
        )
    if until is not None:
        table = table.filter(pc.less(table["received_at"], pa.scalar(until, pa.timestamp("us", "UTC"))))
    return table


def _from_lines(data: bytes) -> Any:
    """A table from log lines as Firehose delivers them (gzipped JSON lines: shared values, then arrays)."""
    import gzip
    import json

    import pyarrow as pa

    schema = arrow_schema(stored=True)
    rows: dict[str, list[Any]] = {name: [] for name in schema.names}
    for text in gzip.decompress(data).decode().splitlines():
        line = json.loads(text) if text.strip() else None
        if not line or line.get("record") != LOG_MARKER:
            continue
        count = len(line["item"])
        line["received_at"] = datetime.fromisoformat(line["received_at"])
        for name in schema.names:
            value = line.get(name)
            rows[name] += value if isinstance(value, list) else [value] * count
    return pa.table(rows, schema=schema)


def _day(key: str) -> Any:
    for part in key.split("/"):
        if part.startswith("date="):
            try:
                return datetime.strptime(part[5:], "%Y-%m-%d").date()
            except ValueError:
                return None
    return None
