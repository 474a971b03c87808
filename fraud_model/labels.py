"""Labels: what turned out to be fraud, joined to the decision records later (chargebacks, case reviews).

A label names a record (`record_id`, or `request_id` with an optional `item`, 0 by default), says `fraud` or
`legitimate` (also 1/0, true/false), when it became known (`label_time`), and optionally where it came from.
Imports append `labels/part-*.parquet`; reading keeps, per record, the label with the latest `label_time` (a
tie: the later import), so importing the same file twice changes nothing and a correction wins.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fraud_model import records
from fraud_model.schema import COLUMNS as PAYSIM_COLUMNS
from fraud_model.schema import LABEL
from fraud_model.store import Store

LABELS_PREFIX = "labels"
_TRUE = {"1", "true", "fraud", "yes"}
_FALSE = {"0", "false", "legitimate", "legit", "no", "genuine"}


@dataclass(frozen=True)
class Refused:
    row: int  # 1-based, as in the file (the header is not a row)
    reason: str


def parse(table: Any, *, source: str) -> tuple[Any, list[Refused]]:
    """The valid labels of an Arrow table (record_id, label, label_time, source, imported_at) and the rows
    refused, each with its reason."""
    import pyarrow as pa

    names = set(table.column_names)
    if "record_id" not in names and "request_id" not in names:
        raise ValueError("a labels file needs a record_id column (or request_id, with an optional item)")
    for needed in ("label", "label_time"):
        if needed not in names:
            raise ValueError(f"a labels file needs a {needed} column")
    rows = table.to_pylist()
    good: dict[str, list[Any]] = {"record_id": [], "label": [], "label_time": [], "source": []}
    refused: list[Refused] = []
    for number, row in enumerate(rows, start=1):
        try:
            record_id = _record_id(row)
            label = _label(row.get("label"))
            when = _time(row.get("label_time"))
        except ValueError as exc:
            refused.append(Refused(number, str(exc)))
            continue
        good["record_id"].append(record_id)
        good["label"].append(label)
        good["label_time"].append(when)
        good["source"].append(str(row.get("source") or source))
    imported = datetime.now(UTC)
    out = pa.table(
        {**good, "imported_at": [imported] * len(good["label"])},
        schema=pa.schema([("record_id", pa.string()), ("label", pa.int8()),
                          ("label_time", pa.timestamp("us", "UTC")), ("source", pa.string()),
                          ("imported_at", pa.timestamp("us", "UTC"))]),
    )  # fmt: skip
    return out, refused


def write(store: Store, labels: Any) -> str | None:
    """Append a parsed labels table; its key (None when it was empty)."""
    import pyarrow.parquet as pq

    if labels.num_rows == 0:
        return None
    buffer = io.BytesIO()
    pq.write_table(labels, buffer, compression="zstd")
    key = f"{LABELS_PREFIX}/part-{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:12]}.parquet"
    store.write(key, buffer.getvalue())
    return key


def read(store: Store) -> Any:
    """The current label of every labelled record: the latest label_time wins (a tie: the later import)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = [pq.read_table(io.BytesIO(store.read(key))) for key in sorted(store.list(LABELS_PREFIX))
             if key.endswith(".parquet")]  # fmt: skip
    if not parts:
        return pa.table({"record_id": pa.array([], pa.string()), "label": pa.array([], pa.int8()),
                         "label_time": pa.array([], pa.timestamp("us", "UTC")),
                         "source": pa.array([], pa.string())})  # fmt: skip
    table = pa.concat_tables(parts)
    order = table.sort_by([("record_id", "ascending"), ("label_time", "descending"),
                           ("imported_at", "descending")])  # fmt: skip
    ids = order["record_id"].to_pylist()
    first = [i for i, record_id in enumerate(ids) if i == 0 or ids[i - 1] != record_id]
    return order.take(pa.array(first, pa.int64())).select(["record_id", "label", "label_time", "source"])


def labelled(store: Store, decisions: Any) -> Any:
    """The records that have a label, with it (`isFraud`, `label_time`, `label_source`)."""
    import pyarrow.compute as pc

    current = read(store)
    found = pc.index_in(
        decisions["record_id"], value_set=current["record_id"]
    )  # (Arrow's join refuses lists)
    kept = pc.is_valid(found)
    rows, at = decisions.filter(kept), found.filter(kept)
    for name, column in ((LABEL, "label"), ("label_time", "label_time"), ("label_source", "source")):
        rows = rows.append_column(name, current[column].take(at))
    return rows


def export_columns() -> Sequence[str]:
    """A labelled export's columns: the PaySim schema (`isFraud` the label) and where each row came from."""
    return (*[c for c in PAYSIM_COLUMNS if c != "isFlaggedFraud"], "record_id", "label_time", "label_source")


def _record_id(row: dict[str, Any]) -> str:
    record_id = row.get("record_id")
    if record_id not in (None, ""):
        return str(record_id)
    request = row.get("request_id")
    if request in (None, ""):
        raise ValueError("no record_id or request_id")
    item = row.get("item")
    try:
        index = 0 if item in (None, "") else int(item)
    except (TypeError, ValueError):
        raise ValueError(f"item {item!r} is not a whole number") from None
    if index < 0:
        raise ValueError(f"item {index} is negative")
    return f"{request}:{index}"


def _label(value: Any) -> int:
    text = str(value).strip().lower() if value is not None else ""
    if text in _TRUE:
        return 1
    if text in _FALSE:
        return 0
    raise ValueError(f"label {value!r} is not fraud/legitimate, 1/0 or true/false")


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if value in (None, ""):
        raise ValueError("no label_time")
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"label_time {value!r} is not an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def export(store: Store, *, since: datetime | None = None, until: datetime | None = None) -> tuple[Any, int]:
    """Labelled records in the PaySim schema (plus record_id, label_time, label_source), and how many
    labelled records were left out for lacking `step` or `type` (training needs both)."""
    import pyarrow.compute as pc

    joined = labelled(store, records.read(store, since=since, until=until))
    complete = pc.and_(pc.is_valid(joined["step"]), pc.is_valid(joined["type"]))
    kept = joined.filter(complete)
    return kept.select(list(export_columns())), joined.num_rows - kept.num_rows
