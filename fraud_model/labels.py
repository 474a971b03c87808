"""Labels: what turned out to be fraud, joined to the decision records later (chargebacks, case reviews).

A label names a record (`record_id`, or `request_id` with an optional `item`, 0 by default), says `fraud` or
`legitimate` (also 1/0, true/false), when it became known (`label_time`), and optionally where it came from.
Imports (`fraud labels import`, `POST /labels`) append `labels/part-*.jsonl`; reading keeps, per record, the
label with the latest `label_time` (a tie: the later import), so importing the same file twice changes
nothing and a correction wins.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
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


@dataclass
class Parsed:
    """Valid labels as columns, and the rows refused."""

    record_id: list[str]
    label: list[int]
    label_time: list[datetime]
    source: list[str]
    refused: list[Refused]

    def __len__(self) -> int:
        return len(self.record_id)


def parse_rows(rows: Sequence[Mapping[str, Any]], *, source: str) -> Parsed:
    """Labels from rows (dicts: record_id or request_id [+ item], label, label_time [, source])."""
    parsed = Parsed([], [], [], [], [])
    for number, row in enumerate(rows, start=1):
        try:
            record_id = _record_id(row)
            label = _label(row.get("label"))
            when = parse_time(row.get("label_time"))
        except ValueError as exc:
            parsed.refused.append(Refused(number, str(exc)))
            continue
        parsed.record_id.append(record_id)
        parsed.label.append(label)
        parsed.label_time.append(when)
        parsed.source.append(str(row.get("source") or source))
    return parsed


def parse(table: Any, *, source: str) -> Parsed:
    """Labels from an Arrow table (a CSV or Parquet file); ValueError when a needed column is missing."""
    names = set(table.column_names)
    if "record_id" not in names and "request_id" not in names:
        raise ValueError("a labels file needs a record_id column (or request_id, with an optional item)")
    for needed in ("label", "label_time"):
        if needed not in names:
            raise ValueError(f"a labels file needs a {needed} column")
    return parse_rows(table.to_pylist(), source=source)


def write(store: Store, labels: Parsed) -> str | None:
    """Append parsed labels as a part of `labels/` (JSON Lines: the function writes them too, without
    pyarrow); its key (None when there was nothing to write)."""
    if not len(labels):
        return None
    imported = datetime.now(UTC).isoformat()
    lines = [
        json.dumps(
            {"record_id": r, "label": v, "label_time": t.isoformat(), "source": s, "imported_at": imported}
        )
        for r, v, t, s in zip(labels.record_id, labels.label, labels.label_time, labels.source, strict=True)
    ]
    key = f"{LABELS_PREFIX}/part-{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:12]}.jsonl"
    store.write(key, ("\n".join(lines) + "\n").encode())
    return key


def read(store: Store) -> Any:
    """The current label of every labelled record: the latest label_time wins (a tie: the later import)."""
    import pyarrow as pa

    rows = [json.loads(line) for key in sorted(store.list(LABELS_PREFIX)) if key.endswith(".jsonl")
            for line in store.read(key).decode().splitlines() if line]  # fmt: skip
    best: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for row in rows:  # ISO 8601 times in UTC compare as text
        when = (parse_time(row["label_time"]).astimezone(UTC).isoformat(), row["imported_at"])
        current = best.get(row["record_id"])
        if current is None or when > current[:2]:
            best[row["record_id"]] = (*when, row)
    kept = [best[key][2] for key in sorted(best)]
    return pa.table(
        {"record_id": [r["record_id"] for r in kept], "label": [r["label"] for r in kept],
         "label_time": [parse_time(r["label_time"]) for r in kept], "source": [r["source"] for r in kept]},
        schema=pa.schema([("record_id", pa.string()), ("label", pa.int8()),
                          ("label_time", pa.timestamp("us", "UTC")), ("source", pa.string())]),
    )  # fmt: skip


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


def _record_id(row: Mapping[str, Any]) -> str:
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


def parse_time(value: Any) -> datetime:
    """A label time: a datetime, or ISO 8601 text (`Z` allowed); UTC when it has no zone."""
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
