"""`fraud records` (query and export the decision record) and `fraud labels` (import what turned out to
be fraud, and show the labels)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fraud_model.errors import InputError
from fraud_model.store import open_store

_SHOWN = ("record_id", "received_at", "source", "type", "amount", "fraud_probability", "is_fraud", "outcome",
          "matched_rules", "model_version", "policy_version")  # fmt: skip


def add_parsers(commands: Any, add_store: Callable[..., None]) -> None:
    records = commands.add_parser("records", help="query and export the decision record")
    add_store(records)
    actions = records.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="records, newest last, filtered")
    export = actions.add_parser(
        "export", help="labelled records as a PaySim-schema CSV (isFraud = the label)"
    )
    for action in (listing, export):
        action.add_argument("--since", type=_time, help="received at or after (ISO 8601, UTC when no zone)")
        action.add_argument("--until", type=_time, help="received before")
        add_store(action, after=True)
    listing.add_argument("--model-version")
    listing.add_argument("--policy-version")
    listing.add_argument("--outcome")
    listing.add_argument("--decision", choices=("fraud", "legitimate"), help="the model's is_fraud")
    listing.add_argument("--limit", type=int, default=50, help="at most this many, the newest (0: all)")
    listing.add_argument("--format", choices=("table", "jsonl", "csv"), default="table")
    export.add_argument("--labelled", action="store_true", required=True, help="only labelled records")
    export.add_argument("--out", type=Path, required=True, help="a .csv or .csv.gz file")
    records.set_defaults(run=_records)

    labels = commands.add_parser("labels", help="import labels (fraud or legitimate) for recorded decisions")
    add_store(labels)
    actions = labels.add_subparsers(dest="action", required=True, metavar="ACTION")
    imported = actions.add_parser("import", help="a CSV or Parquet file (or s3:// object) of labels")
    imported.add_argument(
        "file", help="columns: record_id (or request_id [+ item]), label, label_time [, source]"
    )
    imported.add_argument("--source", default=None, help="for rows without a source (default: the file name)")
    show = actions.add_parser("show", help="the current label of every labelled record")
    for action in (imported, show):
        add_store(action, after=True)
    labels.set_defaults(run=_labels)


def _time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _records(args: argparse.Namespace) -> int:
    import pyarrow.compute as pc

    from fraud_model import labels, records

    store = open_store(args.store)
    if args.action == "export":
        table, incomplete = labels.export(store, since=args.since, until=args.until)
        _write_csv(table, args.out)
        left_out = (
            f"; {incomplete} labelled records lack step or type and were left out" if incomplete else ""
        )
        print(f"{table.num_rows} labelled records written to {args.out}{left_out}")
        return 0
    table = records.read(store, since=args.since, until=args.until)
    for column, wanted in (("model_version", args.model_version), ("policy_version", args.policy_version),
                           ("outcome", args.outcome)):  # fmt: skip
        if wanted is not None:
            table = table.filter(pc.equal(table[column], wanted))
    if args.decision is not None:
        table = table.filter(pc.equal(table["is_fraud"], args.decision == "fraud"))
    table = table.sort_by([("received_at", "ascending"), ("item", "ascending")])
    if args.limit > 0 and table.num_rows > args.limit:
        table = table.slice(table.num_rows - args.limit)
    if args.format == "jsonl":
        for row in table.to_pylist():
            print(json.dumps(row, default=str))
    elif args.format == "csv":
        _write_csv(table, None)
    else:
        _print_table(table)
    return 0


def _labels(args: argparse.Namespace) -> int:
    from fraud_model import labels

    store = open_store(args.store)
    if args.action == "show":
        _print_table(labels.read(store))
        return 0
    table = _read_table(args.file)
    try:
        parsed = labels.parse(table, source=args.source or Path(args.file).name)
    except ValueError as exc:
        raise InputError(f"{args.file}: {exc}") from exc
    labels.write(store, parsed)
    refused = parsed.refused
    print(
        f"{len(parsed)} labels imported into {store.uri}" + (f"; {len(refused)} refused" if refused else "")
    )
    for refusal in refused[:20]:
        print(f"  row {refusal.row}: {refusal.reason}", file=sys.stderr)
    if len(refused) > 20:
        print(f"  ... and {len(refused) - 20} more", file=sys.stderr)
    return 2 if refused else 0


def _read_table(uri: str) -> Any:
    import io

    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if uri.startswith("s3://"):
        from training_job.load import S3Reader

        bucket, _, key = uri[len("s3://") :].partition("/")
        data = S3Reader().client.get_object(Bucket=bucket, Key=key)["Body"].read()
    else:
        try:
            data = Path(uri).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {uri}: {exc.strerror}") from exc
    if uri.endswith(".parquet"):
        return pq.read_table(io.BytesIO(data))
    every_column_as_text = pacsv.ConvertOptions(strings_can_be_null=True, column_types=None)
    table = pacsv.read_csv(io.BytesIO(data), convert_options=every_column_as_text)
    return table


def _write_csv(table: Any, path: Path | None) -> None:
    import gzip

    import pyarrow.csv as pacsv

    if path is None:
        pacsv.write_csv(table, sys.stdout.buffer)
        return
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as out:
            pacsv.write_csv(table, out)
    else:
        pacsv.write_csv(table, str(path))


def _print_table(table: Any) -> None:
    shown = [c for c in _SHOWN if c in table.column_names] or table.column_names
    rows = table.select(shown).to_pylist()
    print("\t".join(shown))
    for row in rows:
        print("\t".join(_cell(row[c]) for c in shown))
    print(f"({table.num_rows} rows)", file=sys.stderr)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "-"
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    return str(value)
