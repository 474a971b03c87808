"""`fraud score --remote`: leave a score request in the stack's store, start the training instance, follow it.

The instance (found as `fraud train --remote` finds it) names its store in a tag; the request's URIs are
checked against that bucket's prefixes before anything is written; the request is removed if the start fails.
The exit status is the job's own: 0, 3 (rows quarantined), 2 (bad input), 1 (no result reported).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from training_job import remote
from training_job.score_job import JOB_KEY, ScoreRequest

if TYPE_CHECKING:
    from mypy_boto3_ec2.client import EC2Client
    from mypy_boto3_logs.client import CloudWatchLogsClient


def run_remote_score(
    request: ScoreRequest,
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
    """Run `request` on the training instance; without `follow`, 0 once it is starting."""
    ec2 = ec2_client or remote.aws_client("ec2", region)
    instance = remote.find_stopped_instance(ec2, instance_id)
    store_uri = remote.tag(instance, remote.STORE_TAG_KEY)
    if not store_uri:
        raise remote.InstanceNotFoundError(
            f"instance {instance['InstanceId']} has no {remote.STORE_TAG_KEY} tag: deploy the stack again "
            "(remote scoring needs a training instance of this version)"
        )
    bucket = store_uri.removeprefix("s3://").split("/", 1)[0]
    request.check_bucket(bucket)
    s3 = s3_client or remote.aws_client("s3", region)
    body = request.model_dump_json(exclude_defaults=True).encode()
    remote.aws_call("put_object", lambda: s3.put_object(Bucket=bucket, Key=JOB_KEY, Body=body))
    logs = logs_client or remote.aws_client("logs", region)
    code = remote.start_and_follow(
        ec2,
        instance,
        logs,
        follow=follow,
        poll_seconds=poll_seconds,
        out=out,
        sleep=sleep,
        job="Score",
        undo=lambda: remote.aws_call("delete_object", lambda: s3.delete_object(Bucket=bucket, Key=JOB_KEY)),
    )
    if follow and code == 0:
        out(f"Scores: {request.out.rstrip('/')}/ (_SUCCESS lists the parts)")
    return 1 if code is None else code
