"""`run_remote_training` against moto: instance lookup, start, log following, result parsing, errors."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from training_job import remote

REGION = "eu-west-1"
AMI = "ami-12c6146b"  # one of moto's built-in images
LOG_GROUP = remote.log_group_name("FraudTest")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    """moto EC2 + CloudWatch Logs clients, with the training log group created as the stack creates it."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        logs = boto3.client("logs", region_name=REGION)
        logs.create_log_group(logGroupName=LOG_GROUP)
        yield ec2, logs


def _instance(
    ec2: Any, *, tagged: bool = True, stopped: bool = True, log_group: str | None = LOG_GROUP
) -> str:
    """An instance tagged as the stack tags it (role, log group, stack name)."""
    tags = [{"Key": remote.ROLE_TAG_KEY, "Value": remote.ROLE_TAG_VALUE}] if tagged else []
    if tagged and log_group:
        tags.append({"Key": remote.LOG_GROUP_TAG_KEY, "Value": log_group})
        tags.append({"Key": "aws:cloudformation:stack-name", "Value": log_group.split("/")[2]})
    reply = ec2.run_instances(
        ImageId=AMI,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags or [{"Key": "Name", "Value": "other"}]}],
    )
    instance_id: str = reply["Instances"][0]["InstanceId"]
    if stopped:
        ec2.stop_instances(InstanceIds=[instance_id])
    return instance_id


def _write_log(logs: Any, stream: str, *messages: str, log_group: str = LOG_GROUP) -> None:
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=log_group, logStreamName=stream)
    now = int(time.time() * 1000)
    events = [{"timestamp": now + i, "message": message} for i, message in enumerate(messages)]
    logs.put_log_events(logGroupName=log_group, logStreamName=stream, logEvents=events)


def _job(
    ec2: Any, logs: Any, instance_id: str, *messages: str, log_group: str = LOG_GROUP
) -> Callable[[float], None]:
    """A fake `sleep`: on its first call the "instance" writes `messages` to a new run stream and stops."""

    def sleep(_seconds: float) -> None:
        _write_log(logs, f"{instance_id}/20250101T000000Z", *messages, log_group=log_group)
        ec2.stop_instances(InstanceIds=[instance_id])

    return sleep


def _run(ec2: Any, logs: Any, sleep: Callable[[float], None], **kwargs: Any) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = remote.run_remote_training(
        region=REGION,
        ec2_client=ec2,
        logs_client=logs,
        out=lines.append,
        sleep=sleep,
        poll_seconds=0,
        **kwargs,
    )
    return code, lines


def test_run_remote_training_follows_the_log_until_stopped_and_succeeds(aws: tuple[Any, Any]) -> None:
    ec2, logs = aws
    instance_id = _instance(ec2)
    sleep = _job(ec2, logs, instance_id, "training: 1200 rows", f"{remote.RESULT_PREFIX}0")

    code, lines = _run(ec2, logs, sleep)

    assert code == 0
    assert "training: 1200 rows" in lines
    assert f"{remote.RESULT_PREFIX}0" in lines


def test_run_remote_training_returns_1_when_the_job_fails(aws: tuple[Any, Any]) -> None:
    ec2, logs = aws
    instance_id = _instance(ec2)

    code, lines = _run(ec2, logs, _job(ec2, logs, instance_id, "Traceback ...", f"{remote.RESULT_PREFIX}3"))

    assert code == 1
    assert lines[-1] == f"Training job finished with exit code 3; instance {instance_id} is stopped."


def test_run_remote_training_returns_1_when_no_result_was_logged(aws: tuple[Any, Any]) -> None:
    ec2, logs = aws
    instance_id = _instance(ec2)

    code, lines = _run(ec2, logs, _job(ec2, logs, instance_id, "killed by the time limit"))

    assert code == 1
    assert "stopped without reporting a result" in lines[-1]


def test_run_remote_training_skips_lines_of_earlier_runs(aws: tuple[Any, Any]) -> None:
    ec2, logs = aws
    instance_id = _instance(ec2)
    _write_log(logs, f"{instance_id}/20240101T000000Z", "old run", f"{remote.RESULT_PREFIX}0")

    code, lines = _run(ec2, logs, _job(ec2, logs, instance_id, "new run", f"{remote.RESULT_PREFIX}4"))

    assert code == 1
    assert "old run" not in lines
    assert "new run" in lines


def test_run_remote_training_without_follow_starts_and_returns(aws: tuple[Any, Any]) -> None:
    ec2, logs = aws
    instance_id = _instance(ec2)

    code, lines = _run(ec2, logs, sleep=lambda _: pytest.fail("must not wait"), follow=False)

    state = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]
    assert code == 0
    assert state["Name"] in ("pending", "running")
    assert lines == [f"Started training instance {instance_id} (logs: CloudWatch Logs group {LOG_GROUP})."]


def test_run_remote_training_uses_the_given_instance_id(aws: tuple[Any, Any]) -> None:
    ec2, logs = aws
    _instance(ec2)
    chosen = _instance(ec2)  # two tagged instances: only an explicit id is unambiguous

    code, _ = _run(ec2, logs, _job(ec2, logs, chosen, f"{remote.RESULT_PREFIX}0"), instance_id=chosen)

    assert code == 0


def test_run_remote_training_follows_the_log_group_its_instance_names(aws: tuple[Any, Any]) -> None:
    ec2, logs = aws  # two stacks in one region: each instance writes to its own stack's group
    other_group = remote.log_group_name("FraudStaging")
    logs.create_log_group(logGroupName=other_group)
    _instance(ec2)
    chosen = _instance(ec2, log_group=other_group)
    sleep = _job(ec2, logs, chosen, "staging run", f"{remote.RESULT_PREFIX}0", log_group=other_group)

    code, lines = _run(ec2, logs, sleep, instance_id=chosen)

    assert code == 0
    assert "staging run" in lines
    assert other_group in lines[0]


def test_run_remote_training_refuses_an_instance_without_a_log_group_tag(aws: tuple[Any, Any]) -> None:
    ec2, logs = aws
    instance_id = _instance(ec2, log_group=None)

    with pytest.raises(remote.InstanceNotFoundError, match="no fraud-detection:log-group tag"):
        _run(ec2, logs, sleep=lambda _: None, instance_id=instance_id)


def test_run_remote_training_refuses_a_running_instance(aws: tuple[Any, Any]) -> None:
    ec2, logs = aws
    instance_id = _instance(ec2, stopped=False)

    with pytest.raises(remote.TrainingAlreadyRunningError, match=f"{instance_id} is running"):
        _run(ec2, logs, sleep=lambda _: None)


def test_run_remote_training_raises_when_no_instance_is_tagged(aws: tuple[Any, Any]) -> None:
    ec2, logs = aws
    _instance(ec2, tagged=False)

    with pytest.raises(remote.InstanceNotFoundError, match="deploy the stack first"):
        _run(ec2, logs, sleep=lambda _: None)


def test_run_remote_training_raises_when_several_instances_are_tagged(aws: tuple[Any, Any]) -> None:
    ec2, logs = aws
    ids = sorted([_instance(ec2), _instance(ec2)])

    with pytest.raises(remote.AmbiguousInstanceError) as caught:
        _run(ec2, logs, sleep=lambda _: None)

    assert ", ".join(f"{i} (stack FraudTest)" for i in ids) in str(caught.value)
    assert "--instance-id" in str(caught.value)


def test_run_remote_training_wraps_aws_errors(aws: tuple[Any, Any]) -> None:
    ec2, logs = aws

    with pytest.raises(remote.AwsCallError) as caught:
        _run(ec2, logs, sleep=lambda _: None, instance_id="i-0123456789abcdef0")

    assert isinstance(caught.value.__cause__, ClientError)
    assert isinstance(caught.value, remote.RemoteTrainingError)


def _worker(ec2: Any, training_id: str, *, stopped: bool = True) -> str:
    """A Dask worker instance, tagged as the stack tags the workers of `training_id`."""
    tags = [
        {"Key": remote.ROLE_TAG_KEY, "Value": remote.WORKER_ROLE_TAG_VALUE},
        {"Key": remote.TRAINING_INSTANCE_TAG_KEY, "Value": training_id},
    ]
    reply = ec2.run_instances(
        ImageId=AMI, MinCount=1, MaxCount=1, TagSpecifications=[{"ResourceType": "instance", "Tags": tags}]
    )
    worker_id: str = reply["Instances"][0]["InstanceId"]
    if stopped:
        ec2.stop_instances(InstanceIds=[worker_id])
    return worker_id


def _states(ec2: Any, *instance_ids: str) -> list[str]:
    reply = ec2.describe_instances(InstanceIds=list(instance_ids))
    states = {i["InstanceId"]: i["State"]["Name"] for r in reply["Reservations"] for i in r["Instances"]}
    return [states[i] for i in instance_ids]


def test_run_remote_training_starts_the_workers_and_shows_the_cluster(aws: tuple[Any, Any]) -> None:
    ec2, logs = aws
    instance_id = _instance(ec2)
    workers = sorted([_worker(ec2, instance_id), _worker(ec2, instance_id)])

    code, lines = _run(ec2, logs, sleep=lambda _: pytest.fail("must not wait"), follow=False)

    assert code == 0
    assert all(state in ("pending", "running") for state in _states(ec2, instance_id, *workers))
    listed = ", ".join(f"{w} (pending)" for w in workers)
    assert lines[1] == f"Dask cluster: scheduler on {instance_id}, 2 workers: {listed}."


def test_run_remote_training_reports_the_workers_after_the_run(aws: tuple[Any, Any]) -> None:
    ec2, logs = aws
    instance_id = _instance(ec2)
    worker = _worker(ec2, instance_id)
    job = _job(ec2, logs, instance_id, f"{remote.RESULT_PREFIX}0")

    def run_ends(seconds: float) -> None:
        job(seconds)
        ec2.stop_instances(InstanceIds=[worker])  # the worker's dask exits once the scheduler has gone

    code, lines = _run(ec2, logs, run_ends)

    assert code == 0
    assert lines[-1] == f"1 worker: {worker} (stopped); each stops itself once the scheduler has gone."


def test_run_remote_training_starts_nothing_while_a_worker_is_still_running(aws: tuple[Any, Any]) -> None:
    ec2, logs = aws
    instance_id = _instance(ec2)
    worker = _worker(ec2, instance_id, stopped=False)

    with pytest.raises(remote.TrainingAlreadyRunningError, match=f"{worker} is running"):
        _run(ec2, logs, sleep=lambda _: None)

    assert _states(ec2, instance_id) == ["stopped"]


def test_run_remote_training_leaves_other_stacks_workers_alone(aws: tuple[Any, Any]) -> None:
    ec2, logs = aws
    instance_id = _instance(ec2)
    other = _worker(ec2, "i-0123456789abcdef0")

    _, lines = _run(ec2, logs, sleep=lambda _: None, follow=False)

    assert _states(ec2, other) == ["stopped"]
    assert lines == [f"Started training instance {instance_id} (logs: CloudWatch Logs group {LOG_GROUP})."]


def test_fraud_train_remote_prints_the_cluster(
    aws: tuple[Any, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from fraud_cli.main import main

    ec2, _ = aws
    instance_id = _instance(ec2)
    workers = sorted([_worker(ec2, instance_id), _worker(ec2, instance_id)])

    code = main(["train", "--remote", "--region", REGION, "--no-follow"])

    out = capsys.readouterr().out
    assert code == 0
    assert f"Started training instance {instance_id}" in out
    listed = f"{workers[0]} (pending), {workers[1]} (pending)"
    assert f"Dask cluster: scheduler on {instance_id}, 2 workers: {listed}." in out
