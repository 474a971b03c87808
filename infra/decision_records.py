"""The decision record on AWS: the function's decision log lines delivered to `records/` in the store bucket
and made queryable with Athena, with no network call added to an answer.

The function writes each request's records as one JSON log line (`{"record": "fraud_decisions", …}`,
`lambda_handler.recording.LogRecorder`). A subscription filter on its log group sends those lines, and only
those, to an Amazon Data Firehose stream, which decompresses CloudWatch Logs' envelopes, extracts each line,
and delivers them gzipped to `records/date=YYYY-MM-DD/` (encrypted in the stream with an AWS-owned key and in
the bucket with its default SSE-S3). A Glue table (JSON, partitions projected by date) lets Athena read them:
a line's arrays are one row per transaction with `CROSS JOIN UNNEST`.

Account names are recorded as keyed hashes: the key is a generated Secrets Manager secret that only the
function may read (once per execution environment, while it initialises), so names in the records join with
each other and with labels but cannot be reversed by whoever reads the records.
"""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from fraud_model import constants, records
from infra import nag
from infra.model_bucket import ModelBucket

RECORDS_PREFIX = f"{records.RECORDS_PREFIX}/"
ERRORS_PREFIX = "records-errors/"
FILTER_PATTERN = f'{{ $.record = "{records.LOG_MARKER}" }}'
DATABASE = "fraud_detection"
TABLE = "decisions"
# Athena's types for the log line's fields: what every row shares once, the rest as arrays (one per row).
_SHARED = {"record": "string", "schema_version": "int", "request_id": "string", "received_at": "string",
           "source": "string", "names": "string", "model_version": "string",
           "policy_version": "string"}  # fmt: skip
_ARRAYS = {"item": "int", "step": "bigint", "type": "string", "amount": "double", "oldbalanceOrg": "double",
           "newbalanceOrig": "double", "oldbalanceDest": "double", "newbalanceDest": "double",
           "nameOrig": "string", "nameDest": "string", "fraud_probability": "double", "threshold": "double",
           "is_fraud": "boolean", "feature_set": "string", "outcome": "string",
           "matched_rules": "array<string>", "challenger_probability": "double"}  # fmt: skip


class DecisionRecords(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        store: ModelBucket,
        function: lambda_.Function,
        function_logs: logs.ILogGroup,
        retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, id_)
        self.name_key = self._name_key(function)
        bucket = store.bucket
        delivery_logs = logs.LogGroup(self, "DeliveryLogs", retention=retention,
                                      removal_policy=RemovalPolicy.DESTROY)  # fmt: skip
        delivery_errors = logs.LogStream(self, "DeliveryErrors", log_group=delivery_logs)
        role = self._role(
            "DeliveryRole", "firehose.amazonaws.com", "Decision records: write records/ in the store"
        )
        store.grant_write(role, RECORDS_PREFIX, ERRORS_PREFIX)
        bucket_actions = ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=bucket_actions, resources=[bucket.bucket_arn])
        )
        uploads = bucket.arn_for_objects(f"{RECORDS_PREFIX}*")
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:AbortMultipartUpload"], resources=[uploads])
        )
        delivery_logs.grant_write(role)
        self.stream = firehose.CfnDeliveryStream(
            self,
            "Stream",
            delivery_stream_type="DirectPut",
            delivery_stream_encryption_configuration_input=firehose.CfnDeliveryStream.DeliveryStreamEncryptionConfigurationInputProperty(
                key_type="AWS_OWNED_CMK"
            ),
            extended_s3_destination_configuration=firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=bucket.bucket_arn,
                role_arn=role.role_arn,
                prefix=f"{RECORDS_PREFIX}date=!{{timestamp:yyyy-MM-dd}}/",
                error_output_prefix=f"{ERRORS_PREFIX}!{{firehose:error-output-type}}/date=!{{timestamp:yyyy-MM-dd}}/",
                buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(
                    interval_in_seconds=60, size_in_m_bs=64
                ),
                compression_format="GZIP",
                cloud_watch_logging_options=firehose.CfnDeliveryStream.CloudWatchLoggingOptionsProperty(
                    enabled=True,
                    log_group_name=delivery_logs.log_group_name,
                    log_stream_name=delivery_errors.log_stream_name,
                ),
                processing_configuration=firehose.CfnDeliveryStream.ProcessingConfigurationProperty(
                    enabled=True,
                    processors=[
                        _processor("Decompression", CompressionFormat="GZIP"),
                        _processor("CloudWatchLogProcessing", DataMessageExtraction="true"),
                        _processor("AppendDelimiterToRecord"),
                    ],
                ),
            ),
        )  # fmt: skip
        self.stream.node.add_dependency(role)
        subscriber = self._role(
            "SubscriptionRole", "logs.amazonaws.com", "Put the function's decision lines in the stream"
        )
        put = ["firehose:PutRecord", "firehose:PutRecordBatch"]
        subscriber.add_to_principal_policy(iam.PolicyStatement(actions=put, resources=[self.stream.attr_arn]))
        subscription = logs.CfnSubscriptionFilter(
            self,
            "Subscription",
            log_group_name=function_logs.log_group_name,
            filter_pattern=FILTER_PATTERN,
            destination_arn=self.stream.attr_arn,
            role_arn=subscriber.role_arn,
        )
        subscription.node.add_dependency(subscriber)
        self.location = f"s3://{bucket.bucket_name}/{RECORDS_PREFIX}"
        self.table_name = f"{DATABASE}.{TABLE}"
        self._table(bucket.bucket_name)
        reason = "Firehose writes objects whose names it chooses under records/ (multipart uploads too)."
        nag.acknowledge(role, {nag.wildcard_resource(self, bucket.bucket_arn, f"/{RECORDS_PREFIX}*"): reason})

    def _name_key(self, function: lambda_.Function) -> secretsmanager.Secret:
        """The key account names are hashed with: generated, kept when the stack is deleted (every record's
        hashes depend on it), readable by the function only."""
        secret = secretsmanager.Secret(
            self,
            "NameKey",
            description="Fraud detection: the key account names in decision records are hashed with",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=48,
                                                                        exclude_punctuation=True),
            removal_policy=RemovalPolicy.RETAIN,
        )  # fmt: skip
        assert function.role is not None
        secret.grant_read(function.role)
        function.add_environment(constants.RECORD_NAME_KEY_SECRET_ENV, secret.secret_arn)
        reason = ("A new key would change every account's hash: records before and after a rotation would "
                  "not join. Rotate by hand (a new secret version) when the key must change.")  # fmt: skip
        nag.acknowledge(secret, {"AwsSolutions-SMG4": reason})
        return secret

    def _role(self, id_: str, service: str, description: str) -> iam.Role:
        """A role only `service`, acting for this account, may assume (no confused deputy)."""
        this_account = {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
        principal = iam.ServicePrincipal(service, conditions=this_account)
        return iam.Role(self, id_, assumed_by=principal, description=description)

    def _table(self, bucket_name: str) -> None:
        account = Stack.of(self).account
        database_input = glue.CfnDatabase.DatabaseInputProperty(
            name=DATABASE, description="Fraud detection: the decision record"
        )
        database = glue.CfnDatabase(self, "Database", catalog_id=account, database_input=database_input)
        columns = [
            glue.CfnTable.ColumnProperty(name=name.lower(), type=kind) for name, kind in _SHARED.items()
        ]
        columns += [
            glue.CfnTable.ColumnProperty(name=name.lower(), type=f"array<{kind}>")
            for name, kind in _ARRAYS.items()
        ]
        location = f"s3://{bucket_name}/{RECORDS_PREFIX}"
        table = glue.CfnTable(
            self,
            "Table",
            catalog_id=account,
            database_name=DATABASE,
            table_input=glue.CfnTable.TableInputProperty(
                name=TABLE,
                description="One row per answered request; its arrays hold one value per transaction",
                table_type="EXTERNAL_TABLE",
                partition_keys=[glue.CfnTable.ColumnProperty(name="date", type="string")],
                parameters={
                    "classification": "json", "compressionType": "gzip",
                    "projection.enabled": "true", "projection.date.type": "date",
                    "projection.date.format": "yyyy-MM-dd", "projection.date.range": "2025-01-01,NOW",
                    "projection.date.interval": "1", "projection.date.interval.unit": "DAYS",
                    "storage.location.template": f"{location}date=${{date}}/",
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    columns=columns,
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe",
                        parameters={"case.insensitive": "true", "ignore.malformed.json": "true"},
                    ),
                ),
            ),
        )  # fmt: skip
        table.add_dependency(database)


def _processor(kind: str, **parameters: str) -> firehose.CfnDeliveryStream.ProcessorProperty:
    return firehose.CfnDeliveryStream.ProcessorProperty(
        type=kind,
        parameters=[firehose.CfnDeliveryStream.ProcessorParameterProperty(parameter_name=k, parameter_value=v)
                    for k, v in parameters.items()] or None,
    )  # fmt: skip


EXAMPLE_QUERY = (
    f"SELECT r.request_id, t.item, t.amount, t.fraud_probability, t.outcome FROM {DATABASE}.{TABLE} r "
    "CROSS JOIN UNNEST(r.item, r.amount, r.fraud_probability, r.outcome) "
    "AS t(item, amount, fraud_probability, outcome) WHERE r.date = '2026-12-04' LIMIT 10"
)
