"""Helpers to read synthesized CloudFormation: flatten `Fn::Join` strings, list IAM policy statements."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template


def render(value: Any) -> str:
    """A string with intrinsics flattened: `Fn::Join` parts concatenated, other intrinsics as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(render(part) for part in parts)
    if isinstance(value, dict) and set(value) == {"Fn::Base64"}:
        return render(value["Fn::Base64"])
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_statements(template: Template, role_logical_id: str | None = None) -> list[dict[str, Any]]:
    """Statements of every AWS::IAM::Policy (or those attached to one role) and of inline role policies."""
    statements: list[dict[str, Any]] = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        roles = policy["Properties"].get("Roles", [])
        if role_logical_id is None or {"Ref": role_logical_id} in roles:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    for logical_id, role in template.find_resources("AWS::IAM::Role").items():
        if role_logical_id in (None, logical_id):
            for inline in role["Properties"].get("Policies", []):
                statements += inline["PolicyDocument"]["Statement"]
    return statements


def only(template: Template, resource_type: str) -> tuple[str, dict[str, Any]]:
    """The single resource of a type, as (logical id, resource)."""
    found = template.find_resources(resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    logical_id, resource = next(iter(found.items()))
    return logical_id, dict(resource)


def object_arn(bucket_logical_id: str, key_pattern: str) -> str:
    """How `render` shows `bucket.arn_for_objects(key_pattern)`."""
    return render({"Fn::Join": ["", [{"Fn::GetAtt": [bucket_logical_id, "Arn"]}, f"/{key_pattern}"]]})
