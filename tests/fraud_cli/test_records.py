"""`fraud records` and `fraud labels`: records queried by time, version, outcome and decision; labels
imported (bad rows refused with the row and the reason), upserted (the latest label time wins, a re-import
changes nothing); the labelled export is PaySim-schema data that `fraud train` trains on."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fraud_cli.main import main
from fraud_model import artifact, labels, records
from fraud_model.policy import DEFAULT_POLICY, compile_policy
from fraud_model.schema import TRANSACTION_TYPES
from fraud_model.scorer import Scorer
from fraud_model.store import LocalStore
from lambda_handler.recording import StoreRecorder
from tests.factory import publish_tiny_version
from training_job.generator import generate

ROWS, BATCH = 20_000, 1_000
DAY = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalStore, dict[str, np.ndarray]]:
    """A store whose model answered 20,000 generated transactions in batches of 1,000 over two days,
    recorded as the API records them (names in plain, so the test can follow them)."""
    store = LocalStore(tmp_path_factory.mktemp("served"))
    publish_tiny_version(store, rounds=10, threshold=0.3)
    scorer = Scorer(artifact.load_version(store, artifact.read_pointer(store)))
    policy = compile_policy(DEFAULT_POLICY)
    data = generate(ROWS, fraud_rate=0.02, seed=5)
    recorder = StoreRecorder(store, records.Names("plain"), interval=3600)
    for number, start in enumerate(range(0, ROWS, BATCH)):
        part = slice(start, start + BATCH)
        fields = {name: data[name][part].tolist() for name in records.TRANSACTION_FIELDS}
        money = ("amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest")
        scores = scorer.score_lists({k: fields[k] for k in ("type", *money)})
        decided = policy.decide_columns({"is_fraud": scores.is_fraud}, {})
        received = DAY + timedelta(hours=number * 3)
        chunk = records.Chunk(f"req{number}", "batch", received, scorer.version, "default", fields,
                              scores.fraud_probability, scores.threshold, scores.is_fraud,
                              scores.feature_set, decided.outcome, decided.matched)  # fmt: skip
        recorder.add(lambda chunk=chunk: chunk, len(chunk))
    recorder.close()
    return store, data


def _labels_file(path: Path, rows: list[dict[str, Any]]) -> str:
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=sorted({k for row in rows for k in row}))
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def test_records_list_filters_by_time_outcome_and_decision(
    served: tuple[LocalStore, dict[str, np.ndarray]], capsys: pytest.CaptureFixture[str]
) -> None:
    store, _ = served
    assert records.read(store).num_rows == ROWS
    assert len({key.split("/")[1] for key in store.list("records")}) == 3  # 60 hours: three days' partitions
    since, until = (DAY + timedelta(hours=6)).isoformat(), (DAY + timedelta(hours=12)).isoformat()
    assert main(["records", "list", "--since", since, "--until", until, "--limit", "0", "--format", "jsonl",
                 "--store", store.uri]) == 0  # fmt: skip
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {row["request_id"] for row in rows} == {"req2", "req3"} and len(rows) == 2 * BATCH
    assert main(["records", "list", "--outcome", "block", "--limit", "0", "--format", "jsonl",
                 "--store", store.uri]) == 0  # fmt: skip
    blocked = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert blocked and all(row["outcome"] == "block" and row["is_fraud"] for row in blocked)
    assert main(["records", "list", "--decision", "legitimate", "--limit", "5", "--store", store.uri]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("record_id") and len(out) == 6 and all("\tallow\t" in line for line in out[1:])


def test_labels_import_refuses_bad_rows_and_the_latest_label_time_wins(
    served: tuple[LocalStore, dict[str, np.ndarray]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = LocalStore(tmp_path / "labels")
    first = _labels_file(tmp_path / "first.csv", [
        {"record_id": "req0:1", "label": "fraud", "label_time": "2026-12-02T10:00:00Z", "source": "cb"},
        {"request_id": "req0", "item": "2", "label": "0", "label_time": "2026-12-02T10:00:00"},
        {"record_id": "", "label": "1", "label_time": "2026-12-02T10:00:00Z"},
        {"record_id": "req0:3", "label": "maybe", "label_time": "2026-12-02T10:00:00Z"},
        {"record_id": "req0:4", "label": "1", "label_time": "yesterday"},
    ])  # fmt: skip
    assert main(["labels", "import", first, "--store", store.uri]) == 2  # some rows refused: says so
    captured = capsys.readouterr()
    assert "2 labels imported" in captured.out and "3 refused" in captured.out
    assert captured.err.splitlines() == [
        "  row 3: no record_id or request_id",
        "  row 4: label 'maybe' is not fraud/legitimate, 1/0 or true/false",
        "  row 5: label_time 'yesterday' is not an ISO 8601 time",
    ]
    assert main(["labels", "import", first, "--store", store.uri]) == 2  # again: nothing changes
    capsys.readouterr()
    correction = _labels_file(tmp_path / "later.csv", [
        {"record_id": "req0:1", "label": "legitimate", "label_time": "2026-12-03T10:00:00Z"},
        {"record_id": "req0:2", "label": "fraud", "label_time": "2026-12-01T10:00:00Z"},  # older: loses
    ])  # fmt: skip
    assert main(["labels", "import", correction, "--store", store.uri]) == 0
    current = {row["record_id"]: row for row in labels.read(store).to_pylist()}
    assert {key: row["label"] for key, row in current.items()} == {"req0:1": 0, "req0:2": 0}
    assert current["req0:1"]["source"] == "later.csv" and current["req0:2"]["source"] == "first.csv"


def test_labels_import_without_the_columns_it_needs_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _labels_file(tmp_path / "bad.csv", [{"id": "x", "label": "1"}])
    assert main(["labels", "import", bad, "--store", str(tmp_path / "s")]) == 2
    assert "needs a record_id column" in capsys.readouterr().err


def test_records_export_labelled_trains_a_model(
    served: tuple[LocalStore, dict[str, np.ndarray]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, data = served
    truth = [{"request_id": f"req{i // BATCH}", "item": str(i % BATCH), "label": str(int(data["isFraud"][i])),
              "label_time": "2026-12-04T00:00:00Z"} for i in range(ROWS)]  # fmt: skip
    assert main(["labels", "import", _labels_file(tmp_path / "truth.csv", truth), "--store", store.uri]) == 0
    out = tmp_path / "labelled.csv.gz"
    assert main(["records", "export", "--labelled", "--out", str(out), "--store", store.uri]) == 0
    assert f"{ROWS} labelled records written" in capsys.readouterr().out
    with gzip.open(out, "rt") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0])[:10] == ["step", "type", "amount", "nameOrig", "oldbalanceOrg", "newbalanceOrig",
                                  "nameDest", "oldbalanceDest", "newbalanceDest", "isFraud"]  # fmt: skip
    by_id = {row["record_id"]: row for row in rows}
    sample = by_id["req3:7"]
    assert float(sample["amount"]) == data["amount"][3 * BATCH + 7]
    assert sample["type"] == str(data["type"][3 * BATCH + 7]) in TRANSACTION_TYPES
    assert sum(int(row["isFraud"]) for row in rows) == int(data["isFraud"].sum())
    trained = tmp_path / "trained"
    assert main(["train", "--data", str(out), "--store", str(trained), "--max-rounds", "20", "--no-plots",
                 "--no-progress"]) == 0  # fmt: skip
    assert artifact.read_pointer(LocalStore(trained))
