"""The decision records' AWS pipeline in the synthesized app: the function's decision log lines (and only
those) go to a Firehose stream that writes them gzipped under records/ (encrypted), with least-privilege roles
and a Glue table whose columns are the log line's fields."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from fraud_model import records
from infra.app import build
from infra.decision_records import FILTER_PATTERN
from tests.infra.cfn import as_list, object_arn, only, policy_statements, render


@pytest.fixture(scope="module")
def template(cdk_context: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Template:
    stack = build(App(context=cdk_context, outdir=str(tmp_path_factory.mktemp("cdk"))))
    return Template.from_stack(stack)


def _store_id(template: Template) -> str:
    buckets = template.find_resources("AWS::S3::Bucket")
    (store,) = [i for i, b in buckets.items() if b["Properties"].get("VersioningConfiguration")]
    return store


def _role_of(template: Template, service: str) -> str:
    roles = template.find_resources("AWS::IAM::Role")
    found = [i for i, r in roles.items()
             if f'"{service}"' in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])]  # fmt: skip
    assert len(found) == 1, found
    return found[0]


def test_records_subscription_sends_only_decision_lines_of_the_function_to_the_stream(
    template: Template,
) -> None:
    _, subscription = only(template, "AWS::Logs::SubscriptionFilter")
    properties = subscription["Properties"]
    stream_id, _ = only(template, "AWS::KinesisFirehose::DeliveryStream")
    (function_id,) = template.find_resources("AWS::Lambda::Function")
    function_logs = template.find_resources("AWS::Lambda::Function")[function_id]["Properties"][
        "LoggingConfig"
    ]

    assert properties["FilterPattern"] == FILTER_PATTERN == '{ $.record = "fraud_decisions" }'
    assert properties["DestinationArn"] == {"Fn::GetAtt": [stream_id, "Arn"]}
    assert properties["LogGroupName"] == function_logs["LogGroup"]
    line = records.log_line(_chunk(), records.Names("omit"), rows=400)[0]
    assert json.loads(line)["record"] == records.LOG_MARKER  # what the function writes matches the filter


def test_records_stream_writes_gzipped_lines_under_records_by_date_encrypted(template: Template) -> None:
    _, stream = only(template, "AWS::KinesisFirehose::DeliveryStream")
    properties = stream["Properties"]
    destination = properties["ExtendedS3DestinationConfiguration"]
    processors = [p["Type"] for p in destination["ProcessingConfiguration"]["Processors"]]

    assert properties["DeliveryStreamEncryptionConfigurationInput"] == {"KeyType": "AWS_OWNED_CMK"}
    assert destination["BucketARN"] == {"Fn::GetAtt": [_store_id(template), "Arn"]}
    assert destination["Prefix"] == "records/date=!{timestamp:yyyy-MM-dd}/"
    assert destination["ErrorOutputPrefix"].startswith("records-errors/")
    assert destination["CompressionFormat"] == "GZIP"
    assert processors == ["Decompression", "CloudWatchLogProcessing", "AppendDelimiterToRecord"]
    assert destination["CloudWatchLoggingOptions"]["Enabled"] is True


def test_records_roles_are_least_privilege(template: Template) -> None:
    store = _store_id(template)
    delivery = _role_of(template, "firehose.amazonaws.com")
    granted = {(a, render(r)) for s in policy_statements(template, delivery)
               for a in as_list(s["Action"]) for r in as_list(s["Resource"]) if "s3:" in a}  # fmt: skip
    assert granted == {
        ("s3:PutObject", object_arn(store, "records/*")),
        ("s3:PutObject", object_arn(store, "records-errors/*")),
        ("s3:AbortMultipartUpload", object_arn(store, "records/*")),
        ("s3:GetBucketLocation", render({"Fn::GetAtt": [store, "Arn"]})),
        ("s3:ListBucketMultipartUploads", render({"Fn::GetAtt": [store, "Arn"]})),
    }
    subscriber = _role_of(template, "logs.amazonaws.com")
    stream_id, _ = only(template, "AWS::KinesisFirehose::DeliveryStream")
    (statement,) = policy_statements(template, subscriber)
    assert sorted(as_list(statement["Action"])) == ["firehose:PutRecord", "firehose:PutRecordBatch"]
    assert statement["Resource"] == {"Fn::GetAtt": [stream_id, "Arn"]}


def test_records_glue_table_reads_the_log_lines_by_date(template: Template) -> None:
    _, table = only(template, "AWS::Glue::Table")
    table_input = table["Properties"]["TableInput"]
    storage = table_input["StorageDescriptor"]
    columns = {c["Name"] for c in storage["Columns"]}

    assert render(storage["Location"]).endswith("/records/")
    assert storage["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert [k["Name"] for k in table_input["PartitionKeys"]] == ["date"]
    assert table_input["Parameters"]["projection.enabled"] == "true"
    line = json.loads(records.log_line(_chunk(), records.Names("hash", "k" * 16), rows=400)[0])
    assert columns == {name.lower() for name in line}  # every field of a line is a column, and no other


def _chunk() -> records.Chunk:
    fields = {"step": [1], "type": ["TRANSFER"], "amount": [5.0], "oldbalanceOrg": [5.0],
              "newbalanceOrig": [0.0], "oldbalanceDest": [None], "newbalanceDest": [None], "nameOrig": ["C1"],
              "nameDest": ["C2"]}  # fmt: skip
    return records.Chunk("req", "predict", records.now(), "v1", "default", fields, [0.9], [0.5], [True],
                         ["full"], ["block"], [("model_says_fraud",)])  # fmt: skip


def test_records_name_key_is_a_generated_secret_only_the_function_reads(template: Template) -> None:
    secret_id, secret = only(template, "AWS::SecretsManager::Secret")
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    assert secret["DeletionPolicy"] == "Retain"  # every record's hashes depend on it
    (function_id,) = template.find_resources("AWS::Lambda::Function")
    function = template.find_resources("AWS::Lambda::Function")[function_id]["Properties"]
    assert function["Environment"]["Variables"]["FRAUD_RECORD_NAME_KEY_SECRET"] == {"Ref": secret_id}
    readers = {
        role: [s for s in policy_statements(template, role) if {"Ref": secret_id} in as_list(s["Resource"])]
        for role in template.find_resources("AWS::IAM::Role")
    }
    readers = {role: statements for role, statements in readers.items() if statements}
    assert set(readers) == {function["Role"]["Fn::GetAtt"][0]}
    actions = {a for statements in readers.values() for s in statements for a in as_list(s["Action"])}
    assert actions == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
