"""`fraud train --remote`: start the stopped training instance (and its Dask workers), follow its job's logs
until it stops again.

The infra stack imports the names below: the instance's tags, log group and result line are defined once.
`fraud score --remote` (training_job.score_remote) starts and follows the same instance with these functions.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from fraud_model.errors import FraudError

if TYPE_CHECKING:
    from mypy_boto3_ec2.client import EC2Client
    from mypy_boto3_logs.client import CloudWatchLogsClient

ROLE_TAG_KEY = "fraud-detection:role"
ROLE_TAG_VALUE = "training"
LOG_GROUP_TAG_KEY = "fraud-detection:log-group"  # the instance names the log group its runs write to
STACK_TAG_KEY = "aws:cloudformation:stack-name"  # set by CloudFormation
STORE_TAG_KEY = "fraud-detection:store"  # the stack's store (s3://bucket): where a score request is left
WORKER_ROLE_TAG_VALUE = "training-worker"  # ROLE_TAG_KEY of a Dask worker instance (context trainingWorkers)
# On a worker: the training instance whose scheduler it joins.
TRAINING_INSTANCE_TAG_KEY = "fraud-detection:training-instance"


def log_group_name(stack_name: str) -> str:
    """The training log group of one stack: one each, so that several stacks can share a region."""
    return f"/fraud-detection/{stack_name}/training"


# The instance's run script writes `<RESULT_PREFIX><exit code>` to the run's log stream after the container
# ends; the streams are named `<instance id>/<UTC start time>`.
RESULT_PREFIX = "fraud-training-run: exit-code="

_RESULT_RE = re.compile(re.escape(RESULT_PREFIX) + r"(\d+)")
_LIVE_STATES = ["pending", "running", "stopping", "stopped"]  # replaced instances linger as `terminated`
_CLOCK_SKEW_MS = 5 * 60 * 1000  # log timestamps come from the instance's clock, not this machine's
_REREAD_MS = 60 * 1000
T = TypeVar("T")


class RemoteTrainingError(FraudError):
    """Base of every error `fraud train --remote` reports as one line; `exit_code` is the CLI's status."""

    exit_code = 2


class InstanceNotFoundError(RemoteTrainingError):
    """No live instance carries the training tag (is the stack deployed in this account and region?)."""


class AmbiguousInstanceError(RemoteTrainingError):
    """Several live instances carry the training tag; the caller must pick one with `instance_id`."""


class TrainingAlreadyRunningError(RemoteTrainingError):
    """The instance is not stopped: a job is running, or it is still provisioning or stopping."""


class AwsCallError(RemoteTrainingError):
    """An AWS API call failed (credentials, permissions, network); the botocore error is the `__cause__`."""


def run_remote_training(
    *,
    instance_id: str | None = None,
    region: str | None = None,
    follow: bool = True,
    poll_seconds: float = 10.0,
    ec2_client: EC2Client | None = None,
    logs_client: CloudWatchLogsClient | None = None,
    s3_client: Any = None,
    out: Callable[[str], Any] = print,
    sleep: Callable[[float], Any] = time.sleep,
) -> int:
    """Start one training run and return an exit status.

    Without `follow`: 0 once the instance is starting. With it: print the run's log lines until the instance
    has stopped again, then 0 if the job reported exit code 0, else 1. Interrupting only stops the following.
    """
    ec2 = ec2_client or aws_client("ec2", region)
    instance = find_stopped_instance(ec2, instance_id)
    store_uri = tag(instance, STORE_TAG_KEY)
    if store_uri:  # a score request left behind (its client died before the start) must not replace training
        from training_job.score_job import JOB_KEY

        s3 = s3_client or aws_client("s3", region)
        bucket = store_uri.removeprefix("s3://").split("/", 1)[0]
        aws_call("delete_object", lambda: s3.delete_object(Bucket=bucket, Key=JOB_KEY))
    code = start_and_follow(ec2, instance, logs_client or aws_client("logs", region), follow=follow,
                            poll_seconds=poll_seconds, out=out, sleep=sleep, job="Training")  # fmt: skip
    return 0 if code == 0 else 1


def find_stopped_instance(ec2: EC2Client, instance_id: str | None) -> Any:
    """The stack's training instance (or the one named), which must be stopped and name its log group."""
    instance = _find_instance(ec2, instance_id)
    state = instance["State"]["Name"]
    if state != "stopped":
        raise TrainingAlreadyRunningError(
            f"training instance {instance['InstanceId']} is {state}: a job is running, or the instance is "
            "still provisioning after a deploy or stopping after a run; retry once it is stopped"
        )
    if tag(instance, LOG_GROUP_TAG_KEY) is None:
        raise InstanceNotFoundError(
            f"instance {instance['InstanceId']} has no {LOG_GROUP_TAG_KEY} tag: is it a training instance of "
            "this stack?"
        )
    return instance


def start_and_follow(
    ec2: EC2Client,
    instance: Any,
    logs: CloudWatchLogsClient,
    *,
    follow: bool,
    poll_seconds: float,
    out: Callable[[str], Any],
    sleep: Callable[[float], Any],
    job: str,
    undo: Callable[[], Any] | None = None,
) -> int | None:
    """Start the instance and, with `follow`, print its run's log lines until it stops again; the exit code
    the run reported (0 without `follow`, once started; None when the run reported none). `undo` runs when
    the start fails (a score request must not wait for a later start)."""
    from training_job import remote_workers  # it imports this module

    instance_id = instance["InstanceId"]
    log_group = str(tag(instance, LOG_GROUP_TAG_KEY))
    cursor = _LogCursor(logs, log_group, instance_id) if follow else None
    try:
        # The Dask workers (context trainingWorkers) start in the same call as the training instance.
        workers = remote_workers.find_stopped_workers(ec2, instance_id)
        ids = [instance_id, *workers]
        reply = aws_call("start_instances", lambda: ec2.start_instances(InstanceIds=ids))
    except RemoteTrainingError:
        if undo is not None:
            undo()
        raise
    out(f"Started training instance {instance_id} (logs: CloudWatch Logs group {log_group}).")
    if workers:
        out(remote_workers.cluster_line(instance_id, workers, reply))
    if cursor is None:
        return 0
    exit_code = _follow(ec2, cursor, poll_seconds, out, sleep)
    if exit_code is None:
        out(f"Instance {instance_id} stopped without reporting a result; see log group {log_group}.")
    else:
        out(f"{job} job finished with exit code {exit_code}; instance {instance_id} is stopped.")
    if workers:
        out(remote_workers.workers_line(ec2, workers))
    return exit_code


def _follow(
    ec2: EC2Client,
    cursor: _LogCursor,
    poll_seconds: float,
    out: Callable[[str], Any],
    sleep: Callable[[float], Any],
) -> int | None:
    """Print new log lines until the instance is stopped; return the exit code the run script reported."""
    exit_code: int | None = None
    stopped = False
    while True:
        for message in cursor.new_messages():
            out(message)
            result = _RESULT_RE.fullmatch(message.strip())
            if result:
                exit_code = int(result.group(1))
        # One more read after the stop: the result line is written just before the power-off.
        if stopped:
            return exit_code
        stopped = _state(ec2, cursor.instance_id) == "stopped"
        if not stopped:
            sleep(poll_seconds)


class _LogCursor:
    """The run's log lines not yet printed: streams of earlier runs are skipped, each event comes once."""

    def __init__(self, logs: CloudWatchLogsClient, log_group: str, instance_id: str) -> None:
        self.logs = logs
        self.log_group = log_group
        self.instance_id = instance_id
        self.old_streams = _stream_names(logs, log_group, instance_id)
        self.since_ms = int(time.time() * 1000) - _CLOCK_SKEW_MS
        self.seen: set[str] = set()

    def new_messages(self) -> list[str]:
        # Re-read a short window before the newest event seen: CloudWatch may ingest events out of order.
        start = self.since_ms - _REREAD_MS
        pages = aws_call(
            "filter_log_events",
            lambda: list(
                self.logs.get_paginator("filter_log_events").paginate(
                    logGroupName=self.log_group, logStreamNamePrefix=self.instance_id, startTime=start
                )
            ),
        )
        events = [event for page in pages for event in page.get("events", [])]
        messages = []
        for event in sorted(events, key=lambda e: (e.get("timestamp", 0), e.get("eventId", ""))):
            event_id = event.get("eventId", "")
            if event.get("logStreamName") in self.old_streams or event_id in self.seen:
                continue
            self.seen.add(event_id)
            self.since_ms = max(self.since_ms, event.get("timestamp", 0))
            messages.append(event.get("message", "").rstrip("\n"))
        return messages


def _stream_names(logs: CloudWatchLogsClient, log_group: str, instance_id: str) -> set[str]:
    """Streams of earlier runs on this instance, so that their lines are not replayed."""
    pages = aws_call(
        "describe_log_streams",
        lambda: list(
            logs.get_paginator("describe_log_streams").paginate(
                logGroupName=log_group, logStreamNamePrefix=instance_id
            )
        ),
    )
    return {stream["logStreamName"] for page in pages for stream in page.get("logStreams", [])}


def _find_instance(ec2: EC2Client, instance_id: str | None) -> Any:
    filters: list[Any] = [{"Name": "instance-state-name", "Values": _LIVE_STATES}]
    if instance_id is None:
        filters.append({"Name": f"tag:{ROLE_TAG_KEY}", "Values": [ROLE_TAG_VALUE]})
        kwargs: dict[str, Any] = {"Filters": filters}
    else:
        kwargs = {"Filters": filters, "InstanceIds": [instance_id]}
    pages = aws_call(
        "describe_instances", lambda: list(ec2.get_paginator("describe_instances").paginate(**kwargs))
    )
    instances = [i for page in pages for r in page.get("Reservations", []) for i in r.get("Instances", [])]
    if not instances:
        wanted = instance_id or f"tagged {ROLE_TAG_KEY}={ROLE_TAG_VALUE}"
        raise InstanceNotFoundError(f"no training instance {wanted} in this region; deploy the stack first")
    if len(instances) > 1:
        found = ", ".join(
            f"{i['InstanceId']} (stack {tag(i, STACK_TAG_KEY) or '?'})"
            for i in sorted(instances, key=lambda i: str(i["InstanceId"]))
        )
        raise AmbiguousInstanceError(
            f"several instances are tagged {ROLE_TAG_KEY}={ROLE_TAG_VALUE}: {found}; pass one with "
            "--instance-id (the stack output TrainingInstanceId)"
        )
    return instances[0]


def tag(instance: Any, key: str) -> str | None:
    return next((t.get("Value") for t in instance.get("Tags", []) if t.get("Key") == key), None)


def _state(ec2: EC2Client, instance_id: str) -> str:
    reply = aws_call("describe_instances", lambda: ec2.describe_instances(InstanceIds=[instance_id]))
    state = reply["Reservations"][0]["Instances"][0]["State"]["Name"]
    if state in ("shutting-down", "terminated"):
        raise InstanceNotFoundError(f"training instance {instance_id} was terminated during the run")
    return state


def aws_client(service: str, region: str | None) -> Any:
    import boto3  # lazily: the CLI imports this module for every command

    return boto3.client(service, region_name=region)  # type: ignore[call-overload]


def aws_call(operation: str, call: Callable[[], T]) -> T:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call()
    except (BotoCoreError, ClientError) as exc:
        raise AwsCallError(f"AWS {operation} failed: {exc}") from exc
