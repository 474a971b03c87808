"""cdk-nag (3.x) helpers: acknowledge a finding by its exact id, next to the resource that causes it."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

PACK = "AwsSolutions"


def acknowledge(scope: IConstruct, findings: Mapping[str, str]) -> None:
    """Accept each `finding id -> reason` on `scope` and everything below it."""
    Validations.of(scope).acknowledge(
        *(Acknowledgment(id=finding, reason=reason) for finding, reason in findings.items())
    )


def wildcard_resource(scope: IConstruct, arn: str, suffix: str) -> str:
    """The IAM5 finding id for `<arn><suffix>`, e.g. `AwsSolutions-IAM5[Resource::<Bucket.Arn>/models/*]`."""
    resolved = Stack.of(scope).resolve(arn)
    logical_id, attribute = resolved["Fn::GetAtt"]
    return f"{PACK}-IAM5[Resource::<{logical_id}.{attribute}>{suffix}]"


def managed_policy(name: str) -> str:
    """The IAM4 finding id for an AWS managed policy, e.g. `service-role/AWSLambdaBasicExecutionRole`."""
    return f"{PACK}-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]"
