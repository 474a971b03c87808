"""The `fraud` command line: subcommands, model management, one-off scoring, readable failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from fraud_cli.main import main
from fraud_model import artifact
from fraud_model.store import LocalStore, S3Store
from tests.factory import publish_tiny_version
from tests.lambda_handler import model_factory

SEED = '{"amount": 112.00, "oldbalanceOrg": 100.00, "newbalanceOrig": 0.00}'


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalStore, list[str]]:
    store = LocalStore(tmp_path_factory.mktemp("store"))
    versions = [publish_tiny_version(store, rounds=3, seed=seed) for seed in (0, 1)]
    return store, versions


def test_help_lists_every_subcommand() -> None:
    result = subprocess.run([sys.executable, "-m", "fraud_cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("train", "evaluate", "serve", "predict", "models", "generate"):
        assert command in result.stdout


def test_models_list_marks_the_current_version(
    store: tuple[LocalStore, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "--store", store[0].uri, "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"  {store[1][0]}", f"* {store[1][1]}"]


def test_models_promote_then_current_rolls_back(
    store: tuple[LocalStore, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    shutil.copytree(store[0].root, tmp_path / "s")
    uri = str(tmp_path / "s")
    assert main(["models", "--store", uri, "promote", store[1][0]]) == 0
    capsys.readouterr()
    assert main(["models", "--store", uri, "current"]) == 0
    assert capsys.readouterr().out.strip() == store[1][0]


def test_models_store_option_after_the_action_as_the_readme_writes_it(
    store: tuple[LocalStore, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    shutil.copytree(store[0].root, tmp_path / "s")
    uri = str(tmp_path / "s")
    assert main(["models", "promote", store[1][0], "--store", uri]) == 0
    assert main(["models", "current", "--store", uri]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == store[1][0]
    assert main(["models", "--store", uri, "list"]) == 0  # before the action still works
    assert main(["models", "list", "--store", uri]) == 0


def test_models_show_prints_the_metadata(
    store: tuple[LocalStore, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "--store", store[0].uri, "show"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == store[1][1]


def test_models_promote_unknown_version_fails_in_one_line(
    store: tuple[LocalStore, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "--store", store[0].uri, "promote", "20000101T000000Z-000000"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no manifest" in err


def test_predict_scores_the_seed_request(
    store: tuple[LocalStore, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["predict", "--store", store[0].uri, SEED]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert isinstance(answer["is_fraud"], bool) and 0 <= answer["confidence"] <= 1
    assert answer["model_version"] == store[1][1] and answer["feature_set"] == "origin"
    assert answer["outcome"] == ("block" if answer["is_fraud"] else "allow")  # the default policy
    assert answer["policy_version"] == "default"


def test_predict_scores_a_json_lines_file_in_order(
    store: tuple[LocalStore, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = '{"type": "TRANSFER", "amount": 5.0, "oldbalanceOrg": 5.0, "newbalanceOrig": 0.0, '
    full += '"oldbalanceDest": 0.0, "newbalanceDest": 0.0}'
    path = tmp_path / "tx.jsonl"
    path.write_text(f"{SEED}\n{full}\n")
    assert main(["predict", "--store", store[0].uri, "--file", str(path)]) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["feature_set"] for a in answers] == ["origin", "full"]


def test_predict_with_explain_gives_reasons(
    store: tuple[LocalStore, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["predict", "--store", store[0].uri, "--explain", SEED]) == 0
    reasons = json.loads(capsys.readouterr().out)["reasons"]
    assert reasons and {"feature", "value", "contribution"} == reasons[0].keys()


@pytest.mark.parametrize(
    ("transaction", "message"),
    [
        (
            '{"amount": "112", "oldbalanceOrg": 1, "newbalanceOrig": 0}',
            "amount: Input should be a valid number",
        ),
        ('{"amount": -1, "oldbalanceOrg": 1, "newbalanceOrig": 0}', "amount: Input should be greater than"),
        ('{"amount": 1, "oldbalanceOrg": 1}', "newbalanceOrig: Field required"),
        ("{not json", "cannot read transactions"),
    ],
)
def test_predict_bad_input_exits_2_naming_the_field(
    store: tuple[LocalStore, list[str]], capsys: pytest.CaptureFixture[str], transaction: str, message: str
) -> None:
    assert main(["predict", "--store", store[0].uri, transaction]) == 2
    assert message in capsys.readouterr().err


def test_predict_without_a_model_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", "--store", str(tmp_path), SEED]) == 1
    assert "no current model" in capsys.readouterr().err


def test_generate_writes_a_paysim_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo.csv"
    assert main(["generate", "--rows", "500", "--fraud-rate", "0.02", "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 500
    header = out.read_text().splitlines()[0]
    assert header.startswith("step,type,amount,nameOrig")


def test_models_readme_deploy_lines_run_against_s3(store: tuple[LocalStore, list[str]]) -> None:
    """The deploy guide's `fraud models list --store s3://$BUCKET` and `fraud models promote VERSION --store
    s3://$BUCKET`, run as written by the installed `fraud` against S3 (a moto server)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        env = {**os.environ, "FRAUD_S3_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
        client = boto3.client("s3", endpoint_url=env["FRAUD_S3_ENDPOINT_URL"], region_name="us-east-1",
                              **credentials)  # fmt: skip
        client.create_bucket(Bucket="bucket")
        s3 = S3Store("bucket", client=client)
        first, second = (model_factory.copy_version(store[0], version, s3) for version in store[1])
        fraud = str(Path(sys.executable).parent / "fraud")
        listed = subprocess.run([fraud, "models", "list", "--store", "s3://bucket"], env=env,
                                capture_output=True, text=True, check=False)  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.splitlines() == [f"  {first}", f"* {second}"]
        promoted = subprocess.run([fraud, "models", "promote", first, "--store", "s3://bucket"], env=env,
                                  capture_output=True, text=True, check=False)  # fmt: skip
        assert promoted.returncode == 0, promoted.stderr
        assert artifact.read_pointer(s3) == first
    finally:
        server.stop()
