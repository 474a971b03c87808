"""The model store: one private, versioned S3 bucket holding `data/`, `models/`, `reports/` and more below."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from fraud_model import constants
from infra import nag
from training_job import score_job

DATA_PREFIX = "data/"  # training input, uploaded by the user
MODELS_PREFIX = (
    f"{constants.MODELS_PREFIX}/"  # model versions and the CURRENT pointer: the Lambda reads only this
)
REPORTS_PREFIX = f"{constants.REPORTS_PREFIX}/"  # evaluation reports, plots, quarantined rows
POLICIES_PREFIX = "policies/"  # decision policies and their CURRENT pointer (fraud_model.policy_store)
LISTS_PREFIX = "lists/"  # the lists policies name
LABELS_PREFIX = "labels/"  # labels of recorded decisions (fraud_model.labels)
SCORE_INPUT_PREFIX = score_job.INPUT_PREFIXES[1]  # `fraud score --remote` input that is not training data
SCORES_PREFIX = score_job.OUTPUT_PREFIX  # `fraud score --remote` output
SCORE_JOB_KEY = score_job.JOB_KEY  # a waiting `fraud score --remote` request


class ModelBucket(Construct):
    """The store bucket (`FRAUD_MODEL_STORE=s3://<bucket>`) and the bucket that receives its access logs."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        noncurrent_version_days: int = 90,
        access_log_days: int = 365,
    ) -> None:
        super().__init__(scope, id_)
        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(access_log_days))
            ],
        )
        self.bucket = s3.Bucket(
            self,
            "Store",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,  # an overwritten models/CURRENT or model file can be recovered
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="store/",
            removal_policy=removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-old-object-versions",
                    noncurrent_version_expiration=Duration.days(noncurrent_version_days),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
        self.bucket_name = self.bucket.bucket_name
        self.store_uri = f"s3://{self.bucket.bucket_name}"
        self.data_uri = f"s3://{self.bucket.bucket_name}/{DATA_PREFIX}"

    def grant_read(self, role: iam.IRole, *prefixes: str) -> None:
        """GetObject under each prefix, ListBucket restricted to those prefixes: nothing else."""
        self._grant(role, ["s3:GetObject"], prefixes)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={
                    # `models` too: fraud_model lists versions with the prefix written without its slash
                    "StringLike": {"s3:prefix": [v for p in prefixes for v in (p.rstrip("/"), p, f"{p}*")]}
                },
            )
        )

    def grant_write(self, role: iam.IRole, *prefixes: str) -> None:
        """PutObject under each prefix (no delete: the lifecycle rule expires old versions)."""
        self._grant(role, ["s3:PutObject"], prefixes)

    def grant_take(self, role: iam.IRole, key: str) -> None:
        """Read and delete one object (a request taken once), and list that key alone: a missing key then
        lists as absent instead of answering 403."""
        arn = self.bucket.arn_for_objects(key)
        role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject", "s3:DeleteObject"],
                                                         resources=[arn]))  # fmt: skip
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringEquals": {"s3:prefix": [key]}},
            )
        )

    def _grant(self, role: iam.IRole, actions: list[str], prefixes: tuple[str, ...]) -> None:
        arns = [self.bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes]
        role.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=arns))
        nag.acknowledge(
            role,  # the finding sits on the role's DefaultPolicy, below the role
            {
                nag.wildcard_resource(self, self.bucket.bucket_arn, f"/{prefix}*"): (
                    f"Object access is limited to the `{prefix}` key prefix; the keys below it (data files, "
                    "model versions, report names) are not known when the stack is deployed."
                )
                for prefix in prefixes
            },
        )
