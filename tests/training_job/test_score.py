"""`fraud score`: every input format, S3 in and out, quarantine counted and kept, the API's answers exactly,
part files marked done only when complete, the scored rows in the decision record."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from fraud_cli.main import main
from fraud_model import artifact, records
from fraud_model.scorer import Scorer
from fraud_model.store import LocalStore
from fraud_model.transaction import Transaction
from lambda_handler import service
from lambda_handler.policy_cache import DEFAULT
from lambda_handler.request_context import RequestRecord
from tests.factory import publish_tiny_version
from training_job import score as scoring


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    store = LocalStore(tmp_path_factory.mktemp("store"))
    publish_tiny_version(store, rounds=10, threshold=0.3)
    return store


def _parts(out: Path) -> pa.Table:
    done = json.loads((out / scoring.DONE).read_text())
    return pa.concat_tables([pq.read_table(out / part) for part in done["parts"]])


def test_score_every_format_gives_the_same_rows(store: LocalStore, paysim_csv: Path, tmp_path: Path) -> None:
    plain = tmp_path / "small.csv"
    plain.write_bytes(gzip.decompress(paysim_csv.read_bytes()))
    parquet = tmp_path / "small.parquet"
    pq.write_table(pacsv.read_csv(paysim_csv), parquet)
    tables = []
    for source in (paysim_csv, plain, parquet):
        out = tmp_path / f"out-{source.name}"
        summary = scoring.score_files([str(source)], str(out), store_uri=store.uri, record=False)
        assert summary.scored == summary.rows > 0 and summary.quarantined == 0
        tables.append(_parts(out).drop(["nameOrig", "nameDest"]))
    assert tables[0].equals(tables[1]) and tables[0].equals(tables[2])


def test_score_answers_exactly_what_the_api_answers(
    store: LocalStore, paysim_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    scoring.score_files([str(paysim_csv)], str(out), store_uri=store.uri, id_column="step", record=False)
    scored = _parts(out).to_pylist()[:2_000]
    with gzip.open(paysim_csv, "rt") as file:
        rows = [row for _, row in zip(range(2_000), csv.DictReader(file), strict=False)]
    money = ("amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest")
    transactions = [
        Transaction(**{k: float(r[k]) for k in money}, type=r["type"], step=int(r["step"]),
                    nameOrig=r["nameOrig"], nameDest=r["nameDest"])
        for r in rows
    ]  # fmt: skip
    scorer = Scorer(artifact.load_version(store, artifact.read_pointer(store)))
    body = service.predict_batch(scorer, transactions, record=RequestRecord("t", "POST", "/"), policy=DEFAULT)
    answers = json.loads(body)["predictions"]
    for ours, theirs, row in zip(scored, answers, rows, strict=True):
        for key in ("fraud_probability", "is_fraud", "feature_set", "outcome", "matched_rules", "threshold"):
            assert ours[key] == theirs[key], key
        assert (ours["step"], ours["nameDest"], ours["amount"]) == (int(row["step"]), row["nameDest"],
                                                                    float(row["amount"]))  # fmt: skip


def test_score_refuses_a_file_without_a_required_column_with_exit_2_and_no_success(
    store: LocalStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "no-balance.csv"
    data.write_text("step,type,amount,oldbalanceOrg\n1,TRANSFER,10,10\n")
    out = tmp_path / "out"
    code = main(["score", "--data", str(data), "--out", str(out), "--store", store.uri, "--no-progress"])
    assert code == 2  # not 3: that means the run finished with quarantined rows
    assert "lacks required columns newbalanceOrig" in capsys.readouterr().err
    assert not (out / scoring.DONE).exists()


def test_score_quarantines_bad_rows_counts_them_and_says_so(
    store: LocalStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "messy.csv"
    data.write_text("step,type,amount,oldbalanceOrg,newbalanceOrig,pay_id\n"
                    "1,TRANSFER,10,10,0,a\n1,TRANSFER,-5,10,0,b\n2,WIRE,10,10,0,c\n2,PAYMENT,abc,1,1,d\n"
                    "3,CASH_OUT,7,9,2,e\n")  # fmt: skip
    out = tmp_path / "out"
    code = main(["score", "--data", str(data), "--out", str(out), "--id-column", "pay_id", "--format", "csv",
                 "--store", store.uri, "--no-progress"])  # fmt: skip
    assert code == 3
    captured = capsys.readouterr()
    assert "scored 2 of 5 rows" in captured.out and "3 rows quarantined" in captured.err
    done = json.loads((out / scoring.DONE).read_text())
    scored = pacsv.read_csv(io.BytesIO((out / done["parts"][0]).read_bytes()))
    assert scored["pay_id"].to_pylist() == ["a", "e"]
    with gzip.open(out / scoring.QUARANTINE_FILE, "rt") as file:
        reasons = [row["reasons"] for row in csv.DictReader(file)]
    assert reasons == ["amount:negative", "type:unknown", "amount:non_numeric"]


def test_score_marks_done_only_a_complete_run(
    store: LocalStore, paysim_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    real = scoring._write_part

    def interrupted(*args: Any) -> None:
        real(*args)
        raise KeyboardInterrupt

    monkeypatch.setattr(scoring, "_write_part", interrupted)
    with pytest.raises(KeyboardInterrupt):
        scoring.score_files([str(paysim_csv)], str(out), store_uri=store.uri, record=False)
    assert any(out.glob("part-*")) and not (out / scoring.DONE).exists()  # a part, not marked done
    monkeypatch.setattr(scoring, "_write_part", real)
    scoring.score_files([str(paysim_csv)], str(out), store_uri=store.uri, record=False)
    assert (out / scoring.DONE).exists()
    assert (
        main(["score", "--data", str(paysim_csv), "--out", str(out), "--store", store.uri]) == 2
    )  # finished
    assert main(["score", "--data", str(paysim_csv), "--out", str(out), "--store", store.uri, "--overwrite",
                 "--no-progress"]) == 0  # fmt: skip


def test_score_reads_and_writes_s3(
    store: LocalStore, paysim_csv: Path, aws_env: None, tmp_path: Path
) -> None:
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="data")
        s3.put_object(Bucket="data", Key="in/small.csv.gz", Body=paysim_csv.read_bytes())
        summary = scoring.score_files(
            ["s3://data/in/"], "s3://data/out/run1", store_uri=store.uri, record=False
        )
        done = json.loads(s3.get_object(Bucket="data", Key="out/run1/_SUCCESS")["Body"].read())
        part = s3.get_object(Bucket="data", Key=f"out/run1/{done['parts'][0]}")["Body"].read()
    local = tmp_path / "local"
    scoring.score_files([str(paysim_csv)], str(local), store_uri=store.uri, record=False)
    assert done["scored"] == summary.scored and pq.read_table(io.BytesIO(part)).num_rows == summary.scored
    assert pq.read_table(io.BytesIO(part)).equals(_parts(local))


def test_score_adds_the_scored_rows_to_the_decision_record(
    paysim_csv: Path, tmp_path: Path, store: LocalStore
) -> None:
    own = LocalStore(tmp_path / "store")
    for key in store.list("models"):
        own.write(key, store.read(key))
    summary = scoring.score_files([str(paysim_csv)], str(tmp_path / "out"), store_uri=own.uri)
    recorded = records.read(own)
    assert recorded.num_rows == summary.scored
    assert set(recorded["source"].to_pylist()) == {"score"}
    assert np.allclose(
        recorded["fraud_probability"].to_numpy(), _parts(tmp_path / "out")["fraud_probability"]
    )


def test_score_explain_gives_the_reasons_the_api_gives(
    store: LocalStore, paysim_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    scoring.score_files([str(paysim_csv)], str(out), store_uri=store.uri, record=False, explain=True)
    scored = _parts(out).slice(0, 50).to_pylist()
    scorer = Scorer(artifact.load_version(store, artifact.read_pointer(store)))
    assert all(len(row["reasons"]) == 3 for row in scored)
    with gzip.open(paysim_csv, "rt") as file:
        first = next(csv.DictReader(file))
    money = ("amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest")
    transaction = {**{k: float(first[k]) for k in money}, "type": first["type"], "step": int(first["step"])}
    api = scorer.explain(transaction, top=3)
    assert [(r["feature"], r["contribution"]) for r in scored[0]["reasons"]] == [
        (c.feature, c.contribution) for c in api]  # fmt: skip
