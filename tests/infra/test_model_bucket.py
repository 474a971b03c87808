"""ModelBucket in a bare stack: private, SSL-only, encrypted, versioned, logged, retained, scoped grants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from infra.model_bucket import DATA_PREFIX, MODELS_PREFIX, REPORTS_PREFIX, ModelBucket
from tests.infra.cfn import as_list, object_arn, policy_statements, render


@dataclass(frozen=True)
class Synth:
    template: Template
    store_id: str
    access_log_id: str
    reader_id: str
    writer_id: str


@pytest.fixture(scope="module")
def synth(cdk_context: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Synth:
    app = App(context=cdk_context, outdir=str(tmp_path_factory.mktemp("cdk")))
    stack = Stack(app, "Test")
    store = ModelBucket(stack, "Store")
    reader = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    writer = iam.Role(stack, "Writer", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    store.grant_read(reader, MODELS_PREFIX)
    store.grant_write(writer, MODELS_PREFIX, REPORTS_PREFIX)
    return Synth(
        template=Template.from_stack(stack),
        store_id=stack.get_logical_id(store.bucket.node.default_child),  # type: ignore[arg-type]
        access_log_id=stack.get_logical_id(store.access_log_bucket.node.default_child),  # type: ignore[arg-type]
        reader_id=stack.get_logical_id(reader.node.default_child),  # type: ignore[arg-type]
        writer_id=stack.get_logical_id(writer.node.default_child),  # type: ignore[arg-type]
    )


def _bucket(synth: Synth, logical_id: str) -> dict[str, Any]:
    resource: dict[str, Any] = synth.template.to_json()["Resources"][logical_id]
    return resource


def test_model_bucket_blocks_public_access(synth: Synth) -> None:
    for logical_id in (synth.store_id, synth.access_log_id):
        block = _bucket(synth, logical_id)["Properties"]["PublicAccessBlockConfiguration"]
        assert block == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }


def test_model_bucket_enforces_ssl(synth: Synth) -> None:
    policies = synth.template.find_resources("AWS::S3::BucketPolicy")
    denied = {
        policy["Properties"]["Bucket"]["Ref"]
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    }
    assert denied == {synth.store_id, synth.access_log_id}


def test_model_bucket_encrypts_objects(synth: Synth) -> None:
    for logical_id in (synth.store_id, synth.access_log_id):
        rules = _bucket(synth, logical_id)["Properties"]["BucketEncryption"][
            "ServerSideEncryptionConfiguration"
        ]
        assert rules[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_model_bucket_keeps_versions_and_expires_old_ones(synth: Synth) -> None:
    properties = _bucket(synth, synth.store_id)["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}


def test_model_bucket_writes_access_logs_to_the_log_bucket(synth: Synth) -> None:
    logging = _bucket(synth, synth.store_id)["Properties"]["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"Ref": synth.access_log_id}


def test_model_bucket_is_retained_when_the_stack_is_deleted(synth: Synth) -> None:
    for logical_id in (synth.store_id, synth.access_log_id):
        assert _bucket(synth, logical_id)["DeletionPolicy"] == "Retain"


def test_model_bucket_grant_read_covers_only_the_prefix(synth: Synth) -> None:
    statements = policy_statements(synth.template, synth.reader_id)
    by_action = {action: statement for statement in statements for action in as_list(statement["Action"])}

    assert set(by_action) == {"s3:GetObject", "s3:ListBucket"}
    assert [render(r) for r in as_list(by_action["s3:GetObject"]["Resource"])] == [
        object_arn(synth.store_id, f"{MODELS_PREFIX}*")
    ]
    listing = by_action["s3:ListBucket"]["Condition"]["StringLike"]["s3:prefix"]
    assert listing == ["models", MODELS_PREFIX, f"{MODELS_PREFIX}*"]
    assert DATA_PREFIX not in str(statements)


def test_model_bucket_grant_write_puts_objects_under_the_prefixes_only(synth: Synth) -> None:
    statements = policy_statements(synth.template, synth.writer_id)

    assert [as_list(s["Action"]) for s in statements] == [["s3:PutObject"]]
    assert {render(r) for r in statements[0]["Resource"]} == {
        object_arn(synth.store_id, f"{MODELS_PREFIX}*"),
        object_arn(synth.store_id, f"{REPORTS_PREFIX}*"),
    }
