"""`fraud train` wiring: readable one-line errors, generated demo data, and the remote hand-over."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from fraud_model import artifact
from fraud_model.store import open_store
from training_job import remote
from training_job.commands import add_train_arguments, run_train

FAST = ["--max-rounds", "5", "--threads", "1", "--no-plots", "--no-progress"]


def _train(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    return run_train(parser.parse_args(list(argv)))


def label_less_csv(tmp_path: Path) -> Path:
    path = tmp_path / "unlabelled.csv"
    path.write_text(
        "step,type,amount,oldbalanceOrg,newbalanceOrig,oldbalanceDest,newbalanceDest\n"
        "1,PAYMENT,10.0,20.0,10.0,0.0,0.0\n"
    )
    return path


def test_train_refuses_a_label_less_file_with_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _train("--data", str(label_less_csv(tmp_path)), "--store", str(tmp_path / "store"), *FAST)
    err = capsys.readouterr().err
    assert code == 3
    assert err.startswith("error: ") and "has no isFraud column" in err and "Traceback" not in err


def test_train_without_data_trains_on_generated_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    code = _train("--store", str(store), "--generate-rows", "20000", "--generate-fraud-rate", "0.02", *FAST)
    out = capsys.readouterr().out
    version = artifact.read_pointer(open_store(str(store)))
    assert code == 0 and f"model version {version} (current)" in out and "champion" in out


def test_train_reports_an_invalid_option_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _train("--store", str(tmp_path), "--target-precision", "2")
    assert code == 2 and "error: invalid configuration: target_precision" in capsys.readouterr().err


def test_train_refuses_an_empty_batch_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _train("--store", str(tmp_path), "--batch-rows", "0")
    assert code == 2 and "error: invalid configuration: batch_rows" in capsys.readouterr().err


def test_train_remote_hands_over_to_run_remote_training(monkeypatch: pytest.MonkeyPatch) -> None:
    received: dict[str, Any] = {}

    def fake_run_remote_training(**kwargs: Any) -> int:
        received.update(kwargs)
        return 0

    monkeypatch.setattr(remote, "run_remote_training", fake_run_remote_training)
    assert _train("--remote", "--instance-id", "i-0abc", "--region", "eu-west-1", "--no-follow") == 0
    assert received == {"instance_id": "i-0abc", "region": "eu-west-1", "follow": False}
