"""Decision records: one for every answered transaction (single and batch) and none for refused ones, read
back equal to the answers; account names hashed with the operator's key unless configured otherwise; on
Lambda, log lines instead of files."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from fraud_model import records
from fraud_model.store import LocalStore
from lambda_handler import recording
from lambda_handler.handler import handler
from tests.lambda_handler.gateway_events import FULL, SEED, Context, body_of, http_api

KEY = "a-secret-of-the-operator"


def _event(path: str, body: Any, request_id: str) -> dict[str, Any]:
    event = http_api("POST", path, body)
    event["requestContext"]["requestId"] = request_id
    return event


def _recorded(store: LocalStore) -> list[dict[str, Any]]:
    recording.get_recorder().flush()
    table = records.read(store)
    return sorted(table.to_pylist(), key=lambda row: (row["request_id"], row["item"]))


def test_records_one_per_answered_transaction_equal_to_the_answers(
    store: LocalStore, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_RECORD_NAME_KEY", KEY)
    single = body_of(handler(_event("/predict", FULL, "req-single"), context))
    batch = [SEED, FULL, {**FULL, "amount": 5.0, "nameOrig": None, "type": None}]
    answered = body_of(handler(_event("/predict/batch", {"transactions": batch}, "req-batch"), context))
    refused = handler(
        _event("/predict", {"amount": -1, "oldbalanceOrg": 1, "newbalanceOrig": 0}, "req-bad"), context
    )
    assert refused["statusCode"] == 422

    rows = _recorded(store)
    expected = [("req-batch", 0), ("req-batch", 1), ("req-batch", 2), ("req-single", 0)]
    assert [(r["request_id"], r["item"]) for r in rows] == expected
    one = rows[3]
    assert one["record_id"] == "req-single:0" and one["source"] == "predict"
    for key in ("fraud_probability", "threshold", "is_fraud", "feature_set", "model_version", "outcome",
                "policy_version"):  # fmt: skip
        assert one[key] == single[key], key
    assert one["matched_rules"] == single["matched_rules"]
    assert (one["type"], one["amount"], one["step"]) == ("TRANSFER", FULL["amount"], FULL["step"])
    expected = hashlib.blake2b(FULL["nameOrig"].encode(), key=KEY.encode(), digest_size=16).hexdigest()
    assert (one["nameOrig"], one["names"]) == (expected, "blake2b-128")
    for row, answer, sent in zip(rows[:3], answered["predictions"], batch, strict=True):
        assert row["source"] == "batch" and row["policy_version"] == answered["policy_version"]
        assert (row["fraud_probability"], row["outcome"], row["feature_set"]) == (
            answer["fraud_probability"], answer["outcome"], answer["feature_set"])  # fmt: skip
        assert row["amount"] == sent["amount"] and row["type"] == sent.get("type")
        assert (row["nameOrig"] is None) == (sent.get("nameOrig") is None)
        assert row["oldbalanceDest"] == sent.get("oldbalanceDest")


@pytest.mark.parametrize(("env", "name", "label"), [
    ({}, None, "omitted"),  # hashing is the default; without the operator's key, names are left out
    ({"FRAUD_RECORD_NAMES": "plain"}, FULL["nameOrig"], "plain"),
    ({"FRAUD_RECORD_NAMES": "omit", "FRAUD_RECORD_NAME_KEY": KEY}, None, "omitted"),
])  # fmt: skip
def test_records_names_are_hashed_unless_configured(
    store: LocalStore,
    context: Context,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    name: Any,
    label: str,
) -> None:
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    handler(_event("/predict", FULL, "req-names"), context)
    (row,) = _recorded(store)
    assert (row["nameOrig"], row["names"]) == (name, label)


def test_records_off_writes_nothing(
    store: LocalStore, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_RECORDS", "off")
    assert handler(_event("/predict", FULL, "req-off"), context)["statusCode"] == 200
    assert _recorded(store) == []


def test_records_on_lambda_are_log_lines_with_the_answers(
    store: LocalStore, context: Context, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fraud-inference")
    monkeypatch.setenv("FRAUD_RECORD_NAME_KEY", KEY)
    recording.reset()
    batch = [FULL] * 450  # more than one log line's worth
    answered = body_of(handler(_event("/predict/batch", {"transactions": batch}, "req-log"), context))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()
             if line.startswith('{"record":"fraud_decisions"')]  # fmt: skip
    assert [len(line["item"]) for line in lines] == [400, 50]
    assert [i for line in lines for i in line["item"]] == list(range(450))
    probabilities = [p for line in lines for p in line["fraud_probability"]]
    assert probabilities == [a["fraud_probability"] for a in answered["predictions"]]
    assert records.read(store).num_rows == 0  # no files: the subscription delivers the lines
    assert all(name != FULL["nameOrig"] for line in lines for name in line["nameOrig"])


def _store_down(store: LocalStore) -> tuple[recording.StoreRecorder, dict[str, bool]]:
    """The process's store recorder, writing to `store` through a switch: while `down["on"]`, it refuses."""
    recorder = recording.get_recorder()
    assert isinstance(recorder, recording.StoreRecorder)
    real_write, down = store.write, {"on": True}

    def write(key: str, data: bytes) -> None:
        if down["on"]:
            raise OSError("bucket unreachable")
        real_write(key, data)

    recorder.store = LocalStore(store.root)
    recorder.store.write = write  # type: ignore[method-assign]
    return recorder, down


def test_records_survive_a_store_outage_until_the_next_flush(store: LocalStore, context: Context) -> None:
    recorder, down = _store_down(store)
    handler(_event("/predict", FULL, "req-outage"), context)
    recorder.flush()
    assert records.read(store).num_rows == 0
    down["on"] = False
    recorder.flush()
    assert [r["record_id"] for r in records.read(store).to_pylist()] == ["req-outage:0"]


def test_records_given_up_oldest_first_and_counted_when_the_store_stays_down(
    store: LocalStore, context: Context, caplog: pytest.LogCaptureFixture
) -> None:
    recorder, down = _store_down(store)
    recorder.max_waiting_rows = 2
    for request in ("req-1", "req-2", "req-3"):
        handler(_event("/predict", FULL, request), context)
        recorder.flush()
    assert recorder.dropped == 1
    assert "given up" in caplog.text
    down["on"] = False
    recorder.flush()
    assert [r["record_id"] for r in _recorded(store)] == ["req-2:0", "req-3:0"]


def test_records_delivered_from_the_log_read_back_like_local_ones(
    store: LocalStore, context: Context, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What Firehose writes under records/ (the function's lines, gzipped) reads back as the same records as
    the store recorder's Parquet parts."""
    import gzip

    monkeypatch.setenv("FRAUD_RECORD_NAME_KEY", KEY)
    batch = [FULL, SEED, {**FULL, "type": None, "step": None}]
    handler(_event("/predict/batch", {"transactions": batch}, "req-local"), context)
    local = _recorded(store)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fraud-inference")
    recording.reset()
    handler(_event("/predict/batch", {"transactions": batch}, "req-aws"), context)
    lines = [line for line in capsys.readouterr().out.splitlines() if '"record":"fraud_decisions"' in line]
    day = records.partition(records.now())
    store.write(f"{day}/fraud-records-1-2026-12-04-00-00-00-abc.gz", gzip.compress("\n".join(lines).encode()))
    delivered = [row for row in _recorded(store) if row["request_id"] == "req-aws"]

    ignore = {"record_id", "request_id", "received_at"}
    assert len(delivered) == 3
    for ours, theirs in zip(local, delivered, strict=True):
        assert {k: v for k, v in ours.items() if k not in ignore} == {
            k: v for k, v in theirs.items() if k not in ignore
        }


@pytest.mark.parametrize("stored", [KEY, None, "too-short"])
def test_records_names_hashed_with_the_key_in_secrets_manager(
    store: LocalStore, context: Context, monkeypatch: pytest.MonkeyPatch, stored: str | None
) -> None:
    """On AWS the stack keeps the name key in Secrets Manager: read once, used like FRAUD_RECORD_NAME_KEY;
    a secret that is missing or too short leaves names out, and answers go on."""
    import boto3
    from moto import mock_aws

    for name, value in {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FRAUD_RECORD_NAME_KEY_SECRET", "fraud-detection/record-name-key")
    with mock_aws():
        if stored is not None:
            boto3.client("secretsmanager").create_secret(
                Name="fraud-detection/record-name-key", SecretString=stored
            )
        assert handler(_event("/predict", FULL, "req-secret"), context)["statusCode"] == 200
    (row,) = _recorded(store)
    if stored == KEY:
        expected = hashlib.blake2b(FULL["nameOrig"].encode(), key=KEY.encode(), digest_size=16).hexdigest()
        assert (row["nameOrig"], row["names"]) == (expected, "blake2b-128")
    else:
        assert (row["nameOrig"], row["names"]) == (None, "omitted")
