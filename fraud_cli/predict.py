"""`fraud predict`: score one JSON transaction or a file of them with a published model, as JSON Lines."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from fraud_model import artifact, policy_store
from fraud_model.errors import InputError
from fraud_model.policy import model_variables
from fraud_model.schema import AMOUNT_COLUMNS, TIME
from fraud_model.scorer import Scorer
from fraud_model.store import open_store
from fraud_model.transaction import Transaction

_CSV_IGNORED = {"isFraud", "isFlaggedFraud"}


def _parse_csv(handle: TextIO) -> Iterator[dict[str, Any]]:
    for row in csv.DictReader(handle):
        record: dict[str, Any] = {}
        for key, text in row.items():
            if key in _CSV_IGNORED or text in (None, ""):
                continue
            try:
                record[key] = int(text) if key == TIME else float(text) if key in AMOUNT_COLUMNS else text
            except ValueError:
                record[key] = text  # validation below names the field and the reason
        yield record


def _parse_json(text: str) -> Iterator[Any]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        yield from json.loads(stripped)
        return
    for line in text.splitlines():
        if line.strip():
            yield json.loads(line)


def read_transactions(args: argparse.Namespace) -> list[Transaction]:
    """Parse and validate every input transaction; the first bad one stops the command with its location."""
    try:
        if args.transaction is not None:
            raw: list[Any] = [json.loads(args.transaction)]
        elif args.file == "-":
            raw = list(_parse_json(sys.stdin.read()))
        elif args.file.endswith((".csv", ".csv.gz")):
            import gzip

            opener: Any = gzip.open if args.file.endswith(".gz") else open
            with opener(args.file, "rt", newline="") as handle:
                raw = list(_parse_csv(handle))
        else:
            raw = list(_parse_json(Path(args.file).read_text()))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read transactions: {exc}") from exc
    transactions = []
    for index, item in enumerate(raw, start=1):
        try:
            transactions.append(Transaction.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "transaction"
            raise InputError(f"transaction {index}: {field}: {first['msg']}") from exc
    return transactions


def predict_command(args: argparse.Namespace) -> int:
    transactions = read_transactions(args)
    store = open_store(args.store)
    loaded = artifact.load_version(store, args.version or artifact.read_pointer(store))
    scorer = Scorer(loaded)
    policy_version = policy_store.read_policy_pointer(store)
    policy, _ = policy_store.load_policy(store, policy_version)
    lists = policy_store.read_lists(store, policy.lists)
    records = [t.model_dump(exclude_none=True) for t in transactions]
    for transaction, record, score in zip(transactions, records, scorer.score_records(records), strict=True):
        decision = policy.decide({**transaction.model_dump(), **model_variables(score)}, lists)
        answer: dict[str, Any] = {
            "is_fraud": score.is_fraud,
            "confidence": score.confidence,  # unrounded, as the API answers
            "fraud_probability": score.fraud_probability,
            "threshold": score.threshold,
            "model_version": scorer.version,
            "feature_set": score.feature_set,
            "outcome": decision.outcome,
            "matched_rules": list(decision.matched),
            "policy_version": policy_version,
        }
        if args.explain:
            answer["reasons"] = [vars(c) for c in scorer.explain(record)]
        print(json.dumps(answer))
    return 0
