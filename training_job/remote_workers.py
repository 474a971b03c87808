"""The Dask worker instances of a training instance (context trainingWorkers): found by tag, started with it.

Each worker carries the id of the training instance whose scheduler it joins; `fraud train --remote` and
`fraud score --remote` start them in the same call as the training instance and print the cluster. A worker
stops itself once the scheduler has gone, so nothing here stops them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from training_job.remote import (
    ROLE_TAG_KEY,
    TRAINING_INSTANCE_TAG_KEY,
    WORKER_ROLE_TAG_VALUE,
    TrainingAlreadyRunningError,
    aws_call,
)

if TYPE_CHECKING:
    from mypy_boto3_ec2.client import EC2Client

_LIVE_STATES = ["pending", "running", "stopping", "stopped"]  # replaced workers linger as `terminated`


def find_stopped_workers(ec2: EC2Client, training_instance_id: str) -> list[str]:
    """Ids of the workers of `training_instance_id` (none without trainingWorkers); all must be stopped."""
    filters: list[Any] = [
        {"Name": "instance-state-name", "Values": _LIVE_STATES},
        {"Name": f"tag:{ROLE_TAG_KEY}", "Values": [WORKER_ROLE_TAG_VALUE]},
        {"Name": f"tag:{TRAINING_INSTANCE_TAG_KEY}", "Values": [training_instance_id]},
    ]
    pages = aws_call(
        "describe_instances", lambda: list(ec2.get_paginator("describe_instances").paginate(Filters=filters))
    )
    workers = [i for page in pages for r in page.get("Reservations", []) for i in r.get("Instances", [])]
    busy = [f"{w['InstanceId']} is {w['State']['Name']}" for w in workers if w["State"]["Name"] != "stopped"]
    if busy:
        raise TrainingAlreadyRunningError(
            f"worker instances of {training_instance_id}: {', '.join(sorted(busy))}; a run is in progress "
            "or its workers are still stopping (each stops itself once the scheduler has gone); retry once "
            "they are stopped"
        )
    return sorted(str(w["InstanceId"]) for w in workers)


def cluster_line(training_instance_id: str, workers: list[str], start_reply: Any) -> str:
    """The cluster just started, with each worker's state as the start call reported it."""
    states = {
        i["InstanceId"]: i.get("CurrentState", {}).get("Name", "?")
        for i in start_reply.get("StartingInstances", [])
    }
    listed = ", ".join(f"{w} ({states.get(w, '?')})" for w in workers)
    return f"Dask cluster: scheduler on {training_instance_id}, {_count(workers)}: {listed}."


def workers_line(ec2: EC2Client, workers: list[str]) -> str:
    """The workers' states once the training instance has stopped."""
    reply = aws_call("describe_instances", lambda: ec2.describe_instances(InstanceIds=workers))
    states = {i["InstanceId"]: i["State"]["Name"] for r in reply["Reservations"] for i in r["Instances"]}
    listed = ", ".join(f"{w} ({states.get(w, '?')})" for w in workers)
    return f"{_count(workers).capitalize()}: {listed}; each stops itself once the scheduler has gone."


def _count(workers: list[str]) -> str:
    return f"{len(workers)} worker{'' if len(workers) == 1 else 's'}"
