"""Training compute: a stopped-when-idle EC2 instance that runs the training image on every start.

Its own VPC has public subnets only and no NAT gateway: the instance reaches ECR, CloudWatch Logs and SSM
through the internet gateway with a public IP (no inbound rule), and S3 through a free gateway endpoint.
"""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy, Stack, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import assets, nag
from infra.model_bucket import (
    DATA_PREFIX,
    LISTS_PREFIX,
    MODELS_PREFIX,
    POLICIES_PREFIX,
    REPORTS_PREFIX,
    SCORE_INPUT_PREFIX,
    SCORE_JOB_KEY,
    SCORES_PREFIX,
    ModelBucket,
)
from infra.training_boot import boot_commands
from training_job import remote

# ~$7.30/month each (one AZ) plus data; without them this traffic leaves through the internet gateway.
_INTERFACE_ENDPOINTS = {
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Ssm": ec2.InterfaceVpcEndpointAwsService.SSM,
    "SsmMessages": ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
    "Ec2Messages": ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES,
}


class TrainingCompute(Construct):
    """The training image, the instance that runs it, its network, role and log group."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        store: ModelBucket,
        instance_type: str,
        timeout_minutes: int,
        volume_gib: int,
        log_retention: logs.RetentionDays,
        interface_endpoints: bool = False,
        dask_workers: int = 0,
    ) -> None:
        super().__init__(scope, id_)
        self.store = store
        # > 0: each run starts a Dask scheduler for the workers of infra/training_workers.py
        self.dask_workers = dask_workers
        self.instance_type = ec2.InstanceType(instance_type)
        arm = self.instance_type.architecture == ec2.InstanceArchitecture.ARM_64
        self.image = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=str(assets.REPO_ROOT),
            file=assets.TRAINING.dockerfile,
            exclude=assets.excludes(assets.TRAINING),
            platform=ecr_assets.Platform.LINUX_ARM64 if arm else ecr_assets.Platform.LINUX_AMD64,
        )
        # Named per stack (several may share a region); the instance's tag tells `fraud train --remote`.
        self.log_group_name = remote.log_group_name(Stack.of(self).stack_name)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=self.log_group_name,
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.vpc = self._network(log_retention)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=self.vpc,
            description=(
                "Training cluster: inbound from itself only (Dask, XGBoost); "
                "outbound to ECR, S3, Logs, SSM, dnf"
                if dask_workers
                else "Training instance: no inbound rules; outbound to ECR, S3, CloudWatch Logs, SSM, dnf"
            ),
            allow_all_outbound=True,  # package mirrors and AWS endpoints, on addresses that change
        )
        if interface_endpoints:
            self._interface_endpoints()
        self.role = self._role(store)
        self.instance = self._instance(store, timeout_minutes, volume_gib)
        self.instance_id = self.instance.instance_id

    def _network(self, log_retention: logs.RetentionDays) -> ec2.Vpc:
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=1,  # one instance, one subnet: a second AZ would only add endpoint costs
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
            # Nothing uses the default security group; closing it would add a custom-resource Lambda.
            restrict_default_security_group=False,
        )
        flow_logs = logs.LogGroup(
            self, "FlowLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))
        return vpc

    def _interface_endpoints(self) -> None:
        endpoint_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface endpoints: HTTPS from the training instance only",
            allow_all_outbound=False,
        )
        endpoint_group.add_ingress_rule(
            self.security_group, ec2.Port.tcp(443), "HTTPS from the training instance"
        )
        for name, service in _INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                name, service=service, private_dns_enabled=True, security_groups=[endpoint_group], open=False
            )

    def _role(self, store: ModelBucket) -> iam.Role:
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="Training instance: read data/, write models/ + reports/, pull its image, write "
            "logs; score: read score-input/ + policies/ + lists/, write scores/, take jobs/score.json",
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore")],
        )
        # `fraud score --remote` reads its input, the model and the policy, and writes (and reads back) its
        # output; the request it takes is one key, read and deleted
        store.grant_read(role, DATA_PREFIX, MODELS_PREFIX, SCORE_INPUT_PREFIX, POLICIES_PREFIX, LISTS_PREFIX,
                         SCORES_PREFIX)  # fmt: skip
        store.grant_write(role, MODELS_PREFIX, REPORTS_PREFIX, SCORES_PREFIX)
        store.grant_take(role, SCORE_JOB_KEY)
        self.image.repository.grant_pull(role)
        self.log_group.grant_write(role)
        nag.acknowledge(
            role,
            {
                nag.managed_policy("AmazonSSMManagedInstanceCore"): (
                    "Session Manager is the only way in (no SSH key, no inbound rule); this AWS policy is "
                    "the documented minimum for the SSM agent."
                ),
                "AwsSolutions-IAM5[Resource::*]": (
                    "ecr:GetAuthorizationToken has no resource-level permissions; the layer and image "
                    "actions are limited to the training image repository."
                ),
            },
        )
        return role

    def _instance(self, store: ModelBucket, timeout_minutes: int, volume_gib: int) -> ec2.Instance:
        user_data = ec2.UserData.for_linux()
        user_data.add_commands(
            *boot_commands(
                image_uri=self.image.image_uri,
                region=Aws.REGION,
                store_uri=store.store_uri,
                data_uri=store.data_uri,
                score_job_uri=f"{store.store_uri}/{SCORE_JOB_KEY}",
                timeout_minutes=timeout_minutes,
                instance_type=self.instance_type.to_string(),
                log_group=self.log_group_name,
                dask_workers=self.dask_workers,
            )
        )
        instance = job_instance(
            self, "Instance", vpc=self.vpc, name="fraud-detection-training", instance_type=self.instance_type,
            role=self.role, security_group=self.security_group, user_data=user_data, volume_gib=volume_gib,
        )  # fmt: skip
        Tags.of(instance).add(remote.ROLE_TAG_KEY, remote.ROLE_TAG_VALUE)
        Tags.of(instance).add(remote.LOG_GROUP_TAG_KEY, self.log_group_name)
        Tags.of(instance).add(remote.STORE_TAG_KEY, store.store_uri)  # where `fraud score --remote` writes
        nag.acknowledge(
            instance,
            {
                "AwsSolutions-EC29": (
                    "The instance is a stateless job runner (all state is in S3) that a new training image "
                    "replaces; termination protection would block that replacement and `cdk destroy`."
                )
            },
        )
        return instance


def job_instance(
    scope: Construct,
    id_: str,
    *,
    vpc: ec2.IVpc,
    name: str,
    instance_type: ec2.InstanceType,
    role: iam.IRole,
    security_group: ec2.ISecurityGroup,
    user_data: ec2.UserData,
    volume_gib: int,
) -> ec2.Instance:
    """An instance that runs the training image (the training instance, a Dask worker): Amazon Linux 2023 for
    its CPU, a public subnet and IP (ECR and Logs through the internet gateway; no inbound rule is added
    here), IMDSv2 only, an encrypted gp3 root volume, stopped (not terminated) when it powers itself off."""
    arm = instance_type.architecture == ec2.InstanceArchitecture.ARM_64
    cpu = ec2.AmazonLinuxCpuType.ARM_64 if arm else ec2.AmazonLinuxCpuType.X86_64
    return ec2.Instance(
        scope,
        id_,
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        associate_public_ip_address=True,
        instance_name=name,
        instance_type=instance_type,
        machine_image=ec2.MachineImage.latest_amazon_linux2023(cpu_type=cpu),
        role=role,
        security_group=security_group,
        user_data=user_data,
        # The unit is written once per instance: a new image (or timeout) must mean a new instance.
        user_data_causes_replacement=True,
        require_imdsv2=True,
        detailed_monitoring=True,
        instance_initiated_shutdown_behavior=ec2.InstanceInitiatedShutdownBehavior.STOP,
        block_devices=[
            ec2.BlockDevice(
                device_name="/dev/xvda",
                volume=ec2.BlockDeviceVolume.ebs(
                    volume_gib, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3
                ),
            )
        ],
        propagate_tags_to_volume_on_creation=True,
    )
