"""The one stack: model store, training compute and inference API wired together, plus the outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, Stack
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import InfraConfig
from infra.decision_records import EXAMPLE_QUERY, DecisionRecords
from infra.inference_api import InferenceApi, serving_environment
from infra.model_bucket import ModelBucket
from infra.training_compute import TrainingCompute
from infra.training_workers import TrainingWorkers

_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


class FraudDetectionStack(Stack):
    """Environment-agnostic (no lookups), so `cdk synth` runs offline; deploy picks the account and region."""

    def __init__(self, scope: Construct, id_: str, *, config: InfraConfig, **kwargs: Any) -> None:
        super().__init__(
            scope, id_, description="Real-time fraud detection: model store, training, API", **kwargs
        )
        retention = _retention(config.log_retention_days)
        self.store = ModelBucket(self, "ModelStore")
        self.training = TrainingCompute(
            self,
            "Training",
            store=self.store,
            instance_type=config.training_instance_type,
            timeout_minutes=config.training_timeout_minutes,
            volume_gib=config.training_volume_gib,
            log_retention=retention,
            interface_endpoints=config.training_interface_endpoints,
            dask_workers=config.training_workers,
        )
        self.workers: TrainingWorkers | None = None
        if config.training_workers:
            self.workers = TrainingWorkers(
                self,
                "TrainingWorkers",
                training=self.training,
                count=config.training_workers,
                instance_type=config.training_worker_instance_type,
                timeout_minutes=config.training_timeout_minutes,
                volume_gib=config.training_volume_gib,
            )
        self.inference = InferenceApi(
            self,
            "Inference",
            store=self.store,
            environment=serving_environment(
                store_uri=self.store.store_uri,
                model_version=config.model_version,
                pointer_ttl_seconds=config.pointer_ttl_seconds,
                max_batch_size=config.max_batch_size,
                max_body_bytes=config.max_body_bytes,
                auth=config.api_auth,
            ),
            architecture=config.lambda_architecture,
            memory_mb=config.lambda_memory_mb,
            timeout_seconds=config.lambda_timeout_seconds,
            reserved_concurrency=config.lambda_reserved_concurrency,
            auth=config.api_auth,
            public_docs=config.public_docs,
            rate_limit=config.api_rate_limit,
            burst_limit=config.api_burst_limit,
            latency_p99_alarm_ms=config.latency_p99_alarm_ms,
            server_error_alarm_count=config.server_error_alarm_count,
            alarm_topic_arn=config.alarm_topic_arn,
            log_retention=retention,
        )
        self.records = DecisionRecords(
            self,
            "DecisionRecords",
            store=self.store,
            function=self.inference.function,
            function_logs=self.inference.log_group,
            retention=retention,
        )
        self._outputs()

    def _outputs(self) -> None:
        url = self.inference.url
        CfnOutput(self, "ApiUrl", value=url, description="Base URL of the API (stage prod)")
        CfnOutput(self, "StoreBucket", value=self.store.bucket_name, description="Model store bucket")
        CfnOutput(
            self,
            "AccessLogBucket",
            value=self.store.access_log_bucket.bucket_name,
            description="Store access logs (retained, like the store, by cdk destroy)",
        )
        CfnOutput(
            self, "ModelStoreUri", value=self.store.store_uri, description="FRAUD_MODEL_STORE / --store value"
        )
        where = "Decision records (gzipped JSON lines by date), delivered within ~60 s"
        CfnOutput(self, "RecordsLocation", value=self.records.location, description=where)
        query = f"Athena table of the records, e.g. {EXAMPLE_QUERY}"
        CfnOutput(self, "RecordsTable", value=self.records.table_name, description=query)
        CfnOutput(
            self, "TrainingInstanceId", value=self.training.instance_id, description="fraud train --remote"
        )
        if self.workers is not None:
            ids = ", ".join(instance.instance_id for instance in self.workers.instances)
            CfnOutput(self, "TrainingWorkerIds", value=ids, description="Dask workers (fraud train --remote)")
        CfnOutput(
            self, "TrainingLogGroup", value=self.training.log_group_name, description="Training job logs"
        )
        body = '-H "content-type: application/json" -d @transaction.json'
        key = self.inference.api_key
        if key is None:
            auth = (
                f'--aws-sigv4 "aws:amz:{Aws.REGION}:execute-api" '
                '--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" '
                '-H "x-amz-security-token: $AWS_SESSION_TOKEN"'
            )
        else:
            get_key = f"aws apigateway get-api-key --api-key {key.key_id} --include-value"
            get_key += f" --region {Aws.REGION} --query value --output text"
            CfnOutput(
                self, "ApiKeyId", value=key.key_id, description="API key id (the value is not an output)"
            )
            CfnOutput(self, "GetApiKeyCommand", value=get_key, description="Prints the API key value")
            auth = f'-H "x-api-key: $({get_key})"'
        CfnOutput(self, "CurlExample", value=f"curl -sS {auth} {body} {url}predict", description="Score one")


def _retention(days: int) -> logs.RetentionDays:
    try:
        return _RETENTION[days]
    except KeyError:
        raise ValueError(
            f"context logRetentionDays must be one of {sorted(_RETENTION)}, got {days}"
        ) from None
