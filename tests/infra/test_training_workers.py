"""TrainingWorkers in bare stacks: two Dask workers beside the training instance; none by default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from infra import cluster_boot
from infra.model_bucket import (
    DATA_PREFIX,
    LISTS_PREFIX,
    MODELS_PREFIX,
    POLICIES_PREFIX,
    SCORE_INPUT_PREFIX,
    ModelBucket,
)
from infra.training_compute import TrainingCompute
from infra.training_workers import TrainingWorkers
from tests.infra.cfn import as_list, object_arn, policy_statements, render
from training_job import remote


@dataclass(frozen=True)
class Synth:
    single: Template  # no workers: the stack as it was before trainingWorkers
    cluster: Template  # two workers
    store_id: str
    training_id: str  # the cluster's training instance
    worker_role_id: str
    group_id: str  # the cluster's training security group


def _training(stack: Stack, workers: int) -> TrainingCompute:
    return TrainingCompute(
        stack,
        "Training",
        store=ModelBucket(stack, "Store"),
        instance_type="m7i.xlarge",
        timeout_minutes=60,
        volume_gib=30,
        log_retention=logs.RetentionDays.ONE_MONTH,
        dask_workers=workers,
    )


def _workers(stack: Stack, training: TrainingCompute, instance_type: str | None = None) -> TrainingWorkers:
    return TrainingWorkers(
        stack,
        "Workers",
        training=training,
        count=2,
        instance_type=instance_type,
        timeout_minutes=60,
        volume_gib=30,
    )


@pytest.fixture(scope="module")
def synth(cdk_context: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Synth:
    app = App(context=cdk_context, outdir=str(tmp_path_factory.mktemp("cdk")))
    single = Stack(app, "Single")
    _training(single, 0)
    stack = Stack(app, "Cluster")
    training = _training(stack, 2)
    workers = _workers(stack, training)
    store_bucket = stack.node.find_child("Store").node.find_child("Store").node.default_child

    def logical_id(construct: Any) -> str:
        return stack.get_logical_id(construct.node.default_child)

    return Synth(
        single=Template.from_stack(single),
        cluster=Template.from_stack(stack),
        store_id=stack.get_logical_id(store_bucket),  # type: ignore[arg-type]
        # user_data_causes_replacement appends a hash to the instance's logical id
        training_id=next(
            i
            for i in Template.from_stack(stack).find_resources("AWS::EC2::Instance")
            if i.startswith(logical_id(training.instance))
        ),  # fmt: skip
        worker_role_id=logical_id(workers.role),
        group_id=logical_id(training.security_group),
    )


def _instances(template: Template, role: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template.find_resources("AWS::EC2::Instance").items()
        if {"Key": remote.ROLE_TAG_KEY, "Value": role} in resource["Properties"]["Tags"]
    }


def _worker_user_data(synth: Synth) -> list[str]:
    return [render(worker["UserData"]) for worker in _instances(synth.cluster, "training-worker").values()]


def test_training_workers_are_two_instances_in_the_training_group_and_subnet(synth: Synth) -> None:
    workers = _instances(synth.cluster, remote.WORKER_ROLE_TAG_VALUE)
    (training,) = _instances(synth.cluster, remote.ROLE_TAG_VALUE).values()

    assert len(workers) == 2
    for worker in workers.values():
        (interface,) = worker["NetworkInterfaces"]
        assert interface["GroupSet"] == [{"Fn::GetAtt": [synth.group_id, "GroupId"]}]
        assert interface["SubnetId"] == training["NetworkInterfaces"][0]["SubnetId"]
        assert worker["InstanceType"] == "m7i.xlarge"  # the training type unless trainingWorkerInstanceType
        assert worker["InstanceInitiatedShutdownBehavior"] == "stop"
        assert worker["IamInstanceProfile"] != training["IamInstanceProfile"]  # their own role
    synth.cluster.resource_count_is("AWS::EC2::VPC", 1)


def test_training_workers_are_tagged_with_their_training_instance(synth: Synth) -> None:
    for worker in _instances(synth.cluster, remote.WORKER_ROLE_TAG_VALUE).values():
        assert {"Key": remote.TRAINING_INSTANCE_TAG_KEY, "Value": {"Ref": synth.training_id}} in worker[
            "Tags"
        ]


def test_training_workers_open_only_the_cluster_ports_to_the_training_group(synth: Synth) -> None:
    rules = [
        rule["Properties"] for rule in synth.cluster.find_resources("AWS::EC2::SecurityGroupIngress").values()
    ]
    group = {"Fn::GetAtt": [synth.group_id, "GroupId"]}

    assert sorted((rule["FromPort"], rule["ToPort"]) for rule in rules) == [
        (8786, 8786),
        (8788, 8789),
        (32768, 60999),
    ]
    assert all(rule["IpProtocol"] == "tcp" for rule in rules)
    assert all(rule["GroupId"] == group and rule["SourceSecurityGroupId"] == group for rule in rules)
    assert not any("CidrIp" in rule or "CidrIpv6" in rule for rule in rules)  # no address range
    groups = synth.cluster.find_resources("AWS::EC2::SecurityGroup")
    assert all("SecurityGroupIngress" not in g["Properties"] for g in groups.values())


def test_training_workers_run_dask_worker_against_the_training_instance_then_power_off(synth: Synth) -> None:
    scheduler = f"tcp://{render({'Fn::GetAtt': [synth.training_id, 'PrivateIp']})}:8786"

    for user_data in _worker_user_data(synth):
        assert f"FRAUD_DASK_SCHEDULER={scheduler}\n" in user_data
        assert '-m distributed.cli.dask_worker "$FRAUD_DASK_SCHEDULER"' in user_data
        assert "--death-timeout 600 --worker-port 8788 --nanny-port 8789 --nworkers 1" in user_data
        assert '--env AWS_DEFAULT_REGION="$AWS_REGION"' in user_data  # its tasks read S3 in this region
        assert "ExecStopPost=/usr/bin/systemctl --no-block poweroff" in user_data
        assert "TimeoutStartSec=60min" in user_data
        assert "systemctl enable fraud-dask-worker.service" in user_data


def test_training_workers_make_the_training_run_start_a_scheduler(synth: Synth) -> None:
    (training,) = _instances(synth.cluster, remote.ROLE_TAG_VALUE).values()
    user_data = render(training["UserData"])

    assert "-m distributed.cli.dask_scheduler" in user_data
    assert '--host "$SCHEDULER_HOST" --port 8786 --no-dashboard' in user_data
    assert user_data.index("dask_scheduler") < user_data.index(
        '--env FRAUD_DASK_CLUSTER="tcp://$SCHEDULER_HOST:8786"'
    )
    assert f"docker stop {cluster_boot.SCHEDULER_CONTAINER}" in user_data


def test_training_workers_role_reads_the_job_inputs_and_writes_nothing_to_the_store(synth: Synth) -> None:
    statements = policy_statements(synth.cluster, synth.worker_role_id)
    s3 = {(a, render(r)) for s in statements for a in as_list(s["Action"]) if a.startswith("s3:")
          for r in as_list(s["Resource"])}  # fmt: skip
    reads = (DATA_PREFIX, SCORE_INPUT_PREFIX, MODELS_PREFIX, POLICIES_PREFIX, LISTS_PREFIX)

    assert s3 == {("s3:GetObject", object_arn(synth.store_id, f"{p}*")) for p in reads} | {
        ("s3:ListBucket", render({"Fn::GetAtt": [synth.store_id, "Arn"]}))
    }
    others = {a for s in statements for a in as_list(s["Action"]) if not a.startswith("s3:")}
    assert {"ecr:GetAuthorizationToken", "ecr:BatchGetImage", "logs:PutLogEvents"} <= others
    assert not {a for a in others if not a.startswith(("ecr:", "logs:"))}


def test_training_without_workers_has_no_worker_no_rule_and_no_scheduler(synth: Synth) -> None:
    (training,) = synth.single.find_resources("AWS::EC2::Instance").values()

    assert not synth.single.find_resources("AWS::EC2::SecurityGroupIngress")
    assert "dask" not in render(training["Properties"]["UserData"]).lower()
    (group,) = synth.single.find_resources("AWS::EC2::SecurityGroup").values()
    assert group["Properties"]["GroupDescription"].startswith("Training instance: no inbound rules;")


def test_training_workers_refuse_another_architecture(cdk_context: dict[str, Any]) -> None:
    stack = Stack(App(context=cdk_context), "Mixed")
    training = _training(stack, 2)

    with pytest.raises(ValueError, match="trainingWorkerInstanceType m7g.xlarge must have the architecture"):
        _workers(stack, training, instance_type="m7g.xlarge")
