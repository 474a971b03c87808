"""`fraud score --remote` against moto: the request left for the instance, checked URIs, the job's own exit
status, no request left behind; and the instance's side: the container takes the request and scores it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from fraud_cli.main import main
from fraud_model import constants
from fraud_model.errors import InputError
from fraud_model.store import LocalStore, S3Store
from tests.factory import publish_tiny_version
from tests.lambda_handler import model_factory
from tests.training_job.test_remote import LOG_GROUP, REGION, _instance, _job, _states, _worker
from training_job import remote, score_job
from training_job.__main__ import main as container_main
from training_job.score_remote import run_remote_score

BUCKET = "fraud-store"
DATA = f"s3://{BUCKET}/score-input/march/"
OUT = f"s3://{BUCKET}/scores/march"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any, Any]]:
    """moto EC2, CloudWatch Logs and S3, with the log group and the store bucket the stack creates."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        ec2, logs, s3 = (boto3.client(service, region_name=REGION) for service in ("ec2", "logs", "s3"))
        logs.create_log_group(logGroupName=LOG_GROUP)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield ec2, logs, s3


def _stack_instance(ec2: Any) -> str:
    instance_id = _instance(ec2)
    ec2.create_tags(Resources=[instance_id], Tags=[{"Key": remote.STORE_TAG_KEY, "Value": f"s3://{BUCKET}"}])
    return instance_id


def _run(aws: tuple[Any, Any, Any], request: score_job.ScoreRequest, sleep: Any) -> tuple[int, list[str]]:
    ec2, logs, s3 = aws
    lines: list[str] = []
    code = run_remote_score(request, region=REGION, ec2_client=ec2, logs_client=logs, s3_client=s3,
                            out=lines.append, sleep=sleep, poll_seconds=0)  # fmt: skip
    return code, lines


def _pending(s3: Any) -> dict[str, Any] | None:
    try:
        return dict(json.loads(s3.get_object(Bucket=BUCKET, Key=score_job.JOB_KEY)["Body"].read()))
    except s3.exceptions.NoSuchKey:
        return None


def test_remote_score_leaves_the_request_starts_and_exits_with_the_job_s_status(
    aws: tuple[Any, Any, Any],
) -> None:
    ec2, logs, s3 = aws
    instance_id = _stack_instance(ec2)
    seen: list[dict[str, Any] | None] = []

    def instance_runs(seconds: float) -> None:  # what the instance finds when it boots
        seen.append(_pending(s3))
        _job(ec2, logs, instance_id, "scored 9 of 12 rows", f"{remote.RESULT_PREFIX}3")(seconds)

    request = score_job.ScoreRequest(data=[DATA], out=OUT, id_column="pay_id", format="csv")
    code, lines = _run(aws, request, instance_runs)

    assert code == 3  # the job's own status: rows quarantined
    assert seen == [{"data": [DATA], "out": OUT, "id_column": "pay_id", "format": "csv"}]
    assert "scored 9 of 12 rows" in lines
    assert lines[-1] == f"Score job finished with exit code 3; instance {instance_id} is stopped."


@pytest.mark.parametrize(
    ("data", "out", "message"),
    [
        (f"s3://{BUCKET}/models/", OUT, "a remote score reads only"),
        ("s3://other-bucket/data/", OUT, "a remote score reads only"),
        (DATA, f"s3://{BUCKET}/models/x", "writes only under"),
        (DATA, f"s3://{BUCKET}/scores/", "writes only under"),
    ],
)
def test_remote_score_refuses_uris_the_instance_may_not_touch_before_writing_anything(
    aws: tuple[Any, Any, Any], data: str, out: str, message: str
) -> None:
    ec2, _, s3 = aws
    instance_id = _stack_instance(ec2)

    with pytest.raises(InputError, match=message):
        _run(aws, score_job.ScoreRequest(data=[data], out=out), sleep=lambda _: pytest.fail("must not wait"))

    state = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]
    assert state["Name"] == "stopped" and _pending(s3) is None


def test_remote_score_removes_the_request_when_the_start_fails(
    aws: tuple[Any, Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ec2, _, s3 = aws
    _stack_instance(ec2)

    def refused(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "InsufficientInstanceCapacity", "Message": "none"}}, "StartInstances"
        )

    monkeypatch.setattr(ec2, "start_instances", refused)
    with pytest.raises(remote.AwsCallError, match="InsufficientInstanceCapacity"):
        _run(aws, score_job.ScoreRequest(data=[DATA], out=OUT), sleep=lambda _: None)
    assert _pending(s3) is None  # a later `fraud train --remote` must train, not score


def test_remote_score_starts_the_workers_with_the_instance(aws: tuple[Any, Any, Any]) -> None:
    ec2, _, _ = aws
    instance_id = _stack_instance(ec2)
    worker = _worker(ec2, instance_id)

    request = score_job.ScoreRequest(data=[DATA], out=OUT)
    lines: list[str] = []
    code = run_remote_score(request, region=REGION, ec2_client=ec2, logs_client=aws[1], s3_client=aws[2],
                            follow=False, out=lines.append)  # fmt: skip

    assert code == 0
    assert _states(ec2, worker)[0] in ("pending", "running")
    assert lines[1] == f"Dask cluster: scheduler on {instance_id}, 1 worker: {worker} (pending)."


def test_remote_score_refuses_an_instance_without_a_store_tag(aws: tuple[Any, Any, Any]) -> None:
    ec2, _, _ = aws
    _instance(ec2)

    with pytest.raises(remote.InstanceNotFoundError, match="no fraud-detection:store tag"):
        _run(aws, score_job.ScoreRequest(data=[DATA], out=OUT), sleep=lambda _: None)


def test_remote_training_clears_a_request_left_behind(aws: tuple[Any, Any, Any]) -> None:
    ec2, logs, s3 = aws
    instance_id = _stack_instance(ec2)
    s3.put_object(Bucket=BUCKET, Key=score_job.JOB_KEY, Body=b'{"data": ["x"], "out": "y"}')

    sleep = _job(ec2, logs, instance_id, f"{remote.RESULT_PREFIX}0")
    code = remote.run_remote_training(region=REGION, ec2_client=ec2, logs_client=logs, s3_client=s3,
                                      out=lambda _: None, poll_seconds=0, sleep=sleep)  # fmt: skip
    assert code == 0 and _pending(s3) is None


def test_remote_score_cli_refuses_cluster_and_store(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["score", "--remote", "--data", DATA, "--out", OUT, "--cluster", "tcp://scheduler:8786"])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "fraud score: error: --remote runs on the stack's instance and store: drop --cluster and --store"
    )


def test_score_job_on_the_instance_takes_the_request_and_scores_it(
    aws: tuple[Any, Any, Any], paysim_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The container's entry point as the instance runs it (job.env), against the stack's bucket."""
    _, _, s3 = aws
    local = LocalStore(tmp_path / "store")
    version = model_factory.copy_version(local, publish_tiny_version(local, rows=5_000, rounds=5),
                                         S3Store(BUCKET, client=s3))  # fmt: skip
    s3.put_object(Bucket=BUCKET, Key="score-input/march/small.csv.gz", Body=paysim_csv.read_bytes())
    s3.put_object(Bucket=BUCKET, Key=score_job.JOB_KEY,
                  Body=score_job.ScoreRequest(data=[DATA], out=OUT).model_dump_json().encode())  # fmt: skip
    monkeypatch.setenv(constants.MODEL_STORE_ENV, f"s3://{BUCKET}")
    monkeypatch.setenv(constants.SCORE_JOB_ENV, f"s3://{BUCKET}/{score_job.JOB_KEY}")

    assert container_main([]) == 0
    assert _pending(s3) is None  # taken: it runs once
    done = json.loads(s3.get_object(Bucket=BUCKET, Key="scores/march/_SUCCESS")["Body"].read())
    assert done["scored"] == done["rows"] == 40_000 and done["model_version"] == version
    assert "records/" not in {k["Key"][:8] for k in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_score_job_refuses_a_request_outside_the_prefixes_on_the_instance_too(
    aws: tuple[Any, Any, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, s3 = aws
    bad = {"data": [f"s3://{BUCKET}/models/"], "out": OUT}
    s3.put_object(Bucket=BUCKET, Key=score_job.JOB_KEY, Body=json.dumps(bad).encode())
    monkeypatch.setenv(constants.SCORE_JOB_ENV, f"s3://{BUCKET}/{score_job.JOB_KEY}")

    assert container_main([]) == 2
    assert "a remote score reads only" in capsys.readouterr().err and _pending(s3) is None
