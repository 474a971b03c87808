"""The whole app as `cdk synth` builds it (cdk.json context, cdk-nag): outputs, IAM, wiring, offline."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from fraud_model import constants
from infra.app import build
from infra.stack import FraudDetectionStack
from lambda_handler.config import Settings
from tests.infra.cfn import as_list, only, render


@dataclass(frozen=True)
class Synth:
    stack: FraudDetectionStack
    template: Template
    outdir: Path


@pytest.fixture(scope="module")
def synth(cdk_context: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("cdk")
    stack = build(App(context=cdk_context, outdir=str(outdir)))
    return Synth(stack=stack, template=Template.from_stack(stack), outdir=outdir)


def _outputs(synth: Synth) -> dict[str, str]:
    return {name: render(output["Value"]) for name, output in synth.template.to_json()["Outputs"].items()}


def test_stack_outputs_what_users_need(synth: Synth) -> None:
    outputs = _outputs(synth)

    assert set(outputs) == {
        "ApiUrl",
        "StoreBucket",
        "AccessLogBucket",
        "ModelStoreUri",
        "TrainingInstanceId",
        "TrainingLogGroup",
        "RecordsLocation",
        "RecordsTable",
        "ApiKeyId",
        "GetApiKeyCommand",
        "CurlExample",
    }
    assert outputs["ApiUrl"].startswith("https://") and outputs["ApiUrl"].endswith("/")
    assert outputs["CurlExample"].endswith(f"{outputs['ApiUrl']}predict")
    assert f"$({outputs['GetApiKeyCommand']})" in outputs["CurlExample"]


def test_stack_outputs_the_api_key_id_not_its_value(synth: Synth) -> None:
    key_id, _ = only(synth.template, "AWS::ApiGateway::ApiKey")
    outputs = _outputs(synth)

    assert outputs["ApiKeyId"] == render({"Ref": key_id})
    assert "--include-value" in outputs["GetApiKeyCommand"]
    assert all("Fn::GetAtt" not in value or key_id not in value for value in outputs.values())


def test_stack_grants_no_wildcard_action_and_no_wildcard_resource(synth: Synth) -> None:
    resources = synth.template.to_json()["Resources"].values()
    documents = [r["Properties"]["PolicyDocument"] for r in resources if r["Type"] == "AWS::IAM::Policy"]
    roles = [r["Properties"] for r in resources if r["Type"] == "AWS::IAM::Role"]
    documents += [inline["PolicyDocument"] for role in roles for inline in role.get("Policies", [])]
    allows = [s for d in documents for s in d["Statement"] if s["Effect"] == "Allow"]

    assert allows
    assert not [s for s in allows if any(a == "*" or a.endswith(":*") for a in as_list(s["Action"]))]
    star_resource = [s for s in allows if "*" in as_list(s["Resource"])]
    assert [s["Action"] for s in star_resource] == [
        "ecr:GetAuthorizationToken"
    ]  # no resource-level permissions


def test_stack_lambda_environment_matches_the_serving_settings(synth: Synth) -> None:
    environment = only(synth.template, "AWS::Lambda::Function")[1]["Properties"]["Environment"]["Variables"]
    fraud_vars = {name for name in environment if name.startswith(constants.ENV_PREFIX)}

    assert fraud_vars <= {f"{constants.ENV_PREFIX}{field}".upper() for field in Settings.model_fields}
    assert fraud_vars == {
        constants.MODEL_STORE_ENV,
        constants.POINTER_TTL_ENV,
        constants.MAX_BATCH_SIZE_ENV,
        constants.MAX_BODY_BYTES_ENV,
        constants.API_KEY_HEADER_ENV,
        constants.RECORDS_ENV,
        constants.RECORD_NAME_KEY_SECRET_ENV,
    }
    assert render(environment[constants.MODEL_STORE_ENV]) == _outputs(synth)["ModelStoreUri"]


def test_stack_is_environment_agnostic(synth: Synth) -> None:
    manifest = json.loads((synth.outdir / "manifest.json").read_text())

    assert synth.stack.environment == "aws://unknown-account/unknown-region"
    assert "missing" not in manifest  # no context lookups: `cdk synth` needs no AWS account


def test_stack_stages_small_image_contexts(synth: Synth) -> None:
    staged = [p for p in synth.outdir.glob("asset.*") if p.is_dir()]
    names = {child.name for asset in staged for child in asset.iterdir()}
    files = [path for asset in staged for path in asset.rglob("*")]

    assert len(staged) == 2
    assert {"fraud_model", "pyproject.toml"} <= names
    assert not names & {".venv", "node_modules", "cdk.out", "tests", "infra", ".git", "model_store"}
    assert not [path for path in files if path.suffix in (".so", ".pyc")]


def test_stack_by_default_has_one_instance_and_no_inbound_rule(synth: Synth) -> None:
    synth.template.resource_count_is("AWS::EC2::Instance", 1)
    synth.template.resource_count_is("AWS::EC2::SecurityGroupIngress", 0)
    assert synth.stack.workers is None


def test_stack_with_training_workers_outputs_their_ids(cdk_context: dict[str, Any]) -> None:
    stack = build(App(context=cdk_context | {"trainingWorkers": "2"}))
    template = Template.from_stack(stack)

    assert stack.workers is not None
    workers = [stack.resolve(instance.instance_id) for instance in stack.workers.instances]
    template.resource_count_is("AWS::EC2::Instance", 3)
    assert render(template.to_json()["Outputs"]["TrainingWorkerIds"]["Value"]) == ", ".join(
        render(worker) for worker in workers
    )
