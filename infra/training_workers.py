"""Dask worker instances beside the training instance (context trainingWorkers=N; none by default).

They run the training image in the training VPC, subnet and security group; the group opens the Dask and
XGBoost ports to itself only. Their own role reads the job's inputs and writes nothing to the store.
"""

from __future__ import annotations

from aws_cdk import Aws, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import cluster_boot, nag, worker_boot
from infra.model_bucket import DATA_PREFIX, LISTS_PREFIX, MODELS_PREFIX, POLICIES_PREFIX, SCORE_INPUT_PREFIX
from infra.training_compute import TrainingCompute, job_instance
from training_job import remote

# What a task sent to a worker reads: training and scoring files, and what a scoring task loads.
WORKER_READS = (DATA_PREFIX, SCORE_INPUT_PREFIX, MODELS_PREFIX, POLICIES_PREFIX, LISTS_PREFIX)


class TrainingWorkers(Construct):
    """`count` worker instances that join the scheduler the training instance starts on each run."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        training: TrainingCompute,
        count: int,
        instance_type: str | None,
        timeout_minutes: int,
        volume_gib: int,
    ) -> None:
        super().__init__(scope, id_)
        if count < 1:
            raise ValueError(f"TrainingWorkers needs at least one worker, got {count}")
        self.instance_type = ec2.InstanceType(instance_type) if instance_type else training.instance_type
        if self.instance_type.architecture != training.instance_type.architecture:
            raise ValueError(
                f"context trainingWorkerInstanceType {self.instance_type.to_string()} must have the "
                f"architecture of trainingInstanceType {training.instance_type.to_string()}: both run one "
                "image"
            )
        _open_cluster_ports(training.security_group)
        self.role = self._role(training)
        user_data = ec2.UserData.for_linux()
        user_data.add_commands(
            *worker_boot.boot_commands(
                image_uri=training.image.image_uri,
                region=Aws.REGION,
                scheduler_host=training.instance.instance_private_ip,
                timeout_minutes=timeout_minutes,
                instance_type=self.instance_type.to_string(),
                log_group=training.log_group_name,
            )
        )
        self.instances = [
            self._instance(training, user_data, volume_gib, number) for number in range(1, count + 1)
        ]

    def _role(self, training: TrainingCompute) -> iam.Role:
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="Training workers: read data/, score-input/, models/, policies/, lists/; pull the "
            "training image, write logs; no write to the store",
        )
        training.store.grant_read(role, *WORKER_READS)
        training.image.repository.grant_pull(role)
        training.log_group.grant_write(role)
        nag.acknowledge(
            role,
            {
                "AwsSolutions-IAM5[Resource::*]": (
                    "ecr:GetAuthorizationToken has no resource-level permissions; the layer and image "
                    "actions are limited to the training image repository."
                ),
            },
        )
        return role

    def _instance(
        self, training: TrainingCompute, user_data: ec2.UserData, volume_gib: int, number: int
    ) -> ec2.Instance:
        instance = job_instance(
            self, f"Worker{number}", vpc=training.vpc, name=f"fraud-detection-training-worker-{number}",
            instance_type=self.instance_type, role=self.role, security_group=training.security_group,
            user_data=user_data, volume_gib=volume_gib,
        )  # fmt: skip
        # `fraud train --remote` starts the workers of the training instance it starts.
        Tags.of(instance).add(remote.ROLE_TAG_KEY, remote.WORKER_ROLE_TAG_VALUE)
        Tags.of(instance).add(remote.TRAINING_INSTANCE_TAG_KEY, training.instance_id)
        nag.acknowledge(
            instance,
            {
                "AwsSolutions-EC29": (
                    "A worker is a stateless Dask process that a new training image replaces; termination "
                    "protection would block that replacement and `cdk destroy`."
                )
            },
        )
        return instance


def _open_cluster_ports(group: ec2.SecurityGroup) -> None:
    """Self-referencing rules: only members of the training group (the training instance, the workers)."""
    rules = {
        "Dask scheduler": ec2.Port.tcp(cluster_boot.SCHEDULER_PORT),
        "Dask worker and nanny": ec2.Port.tcp_range(cluster_boot.WORKER_PORT, cluster_boot.NANNY_PORT),
        "XGBoost collective (tracker, workers)": ec2.Port.tcp_range(*cluster_boot.XGBOOST_PORTS),
    }
    for description, port in rules.items():
        group.add_ingress_rule(group, port, f"{description}, from the training cluster only")
