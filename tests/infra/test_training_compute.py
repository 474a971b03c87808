"""TrainingCompute in bare stacks (defaults; Graviton + interface endpoints): locked down, runs the image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

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
from infra.training_boot import UNIT_NAME
from infra.training_compute import TrainingCompute
from tests.infra.cfn import as_list, object_arn, only, policy_statements, render
from training_job import remote

DEFAULT_LOG_GROUP = "/fraud-detection/Default/training"  # the stack below is named Default


@dataclass(frozen=True)
class Synth:
    default: Template
    options: Template  # m7g (arm64) with interface endpoints
    store_id: str
    role_id: str
    image_hash: str


def _training_stack(
    app: App, name: str, *, instance_type: str, endpoints: bool
) -> tuple[Stack, TrainingCompute]:
    stack = Stack(app, name)
    training = TrainingCompute(
        stack,
        "Training",
        store=ModelBucket(stack, "Store"),
        instance_type=instance_type,
        timeout_minutes=60,
        volume_gib=30,
        log_retention=logs.RetentionDays.ONE_MONTH,
        interface_endpoints=endpoints,
    )
    return stack, training


@pytest.fixture(scope="module")
def synth(cdk_context: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Synth:
    app = App(context=cdk_context, outdir=str(tmp_path_factory.mktemp("cdk")))
    stack, training = _training_stack(app, "Default", instance_type="m7i.xlarge", endpoints=False)
    options, _ = _training_stack(app, "Options", instance_type="m7g.large", endpoints=True)
    store_bucket = stack.node.find_child("Store").node.find_child("Store").node.default_child
    return Synth(
        default=Template.from_stack(stack),
        options=Template.from_stack(options),
        store_id=stack.get_logical_id(store_bucket),  # type: ignore[arg-type]
        role_id=stack.get_logical_id(training.role.node.default_child),  # type: ignore[arg-type]
        image_hash=training.image.asset_hash,
    )


def _instance(template: Template) -> dict[str, Any]:
    properties: dict[str, Any] = only(template, "AWS::EC2::Instance")[1]["Properties"]
    return properties


def _user_data(template: Template) -> str:
    return render(_instance(template)["UserData"])


def test_training_compute_has_no_ssh_key(synth: Synth) -> None:
    assert "KeyName" not in _instance(synth.default)
    assert not synth.default.find_resources("AWS::EC2::KeyPair")


def test_training_compute_allows_no_inbound_traffic(synth: Synth) -> None:
    groups = synth.default.find_resources("AWS::EC2::SecurityGroup")

    assert all("SecurityGroupIngress" not in group["Properties"] for group in groups.values())
    assert not synth.default.find_resources("AWS::EC2::SecurityGroupIngress")


def test_training_compute_requires_imdsv2(synth: Synth) -> None:
    template_id, launch_template = only(synth.default, "AWS::EC2::LaunchTemplate")

    assert launch_template["Properties"]["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] == "required"
    assert _instance(synth.default)["LaunchTemplate"]["Version"] == {
        "Fn::GetAtt": [template_id, "LatestVersionNumber"]
    }


def test_training_compute_encrypts_its_root_volume(synth: Synth) -> None:
    (device,) = _instance(synth.default)["BlockDeviceMappings"]

    assert device["DeviceName"] == "/dev/xvda"
    assert device["Ebs"] == {"Encrypted": True, "VolumeSize": 30, "VolumeType": "gp3"}


def test_training_compute_stops_when_the_job_shuts_it_down(synth: Synth) -> None:
    assert _instance(synth.default)["InstanceInitiatedShutdownBehavior"] == "stop"


def test_training_compute_is_tagged_for_the_cli(synth: Synth) -> None:
    tags = _instance(synth.default)["Tags"]

    assert {"Key": remote.ROLE_TAG_KEY, "Value": remote.ROLE_TAG_VALUE} in tags
    assert {"Key": remote.LOG_GROUP_TAG_KEY, "Value": DEFAULT_LOG_GROUP} in tags
    store_tag = next(tag for tag in tags if tag["Key"] == remote.STORE_TAG_KEY)
    assert render(store_tag["Value"]) == f"s3://{render({'Ref': synth.store_id})}"


def test_training_compute_user_data_runs_the_training_image(synth: Synth) -> None:
    user_data = _user_data(synth.default)

    image = user_data.split("FRAUD_IMAGE=", 1)[1].split("\n", 1)[0]
    assert "docker run --rm --network host" in user_data
    assert "container-assets" in image and image.endswith(f':{synth.image_hash}"}}')
    store_ref = render({"Ref": synth.store_id})
    assert f"FRAUD_DATA=s3://{store_ref}/{DATA_PREFIX}\n" in user_data
    assert f"FRAUD_MODEL_STORE=s3://{store_ref}\n" in user_data
    assert f"FRAUD_SCORE_JOB=s3://{store_ref}/{SCORE_JOB_KEY}\n" in user_data
    assert f"FRAUD_LOG_GROUP={DEFAULT_LOG_GROUP}\n" in user_data


def test_training_compute_user_data_runs_the_job_on_every_boot_then_stops(synth: Synth) -> None:
    user_data = _user_data(synth.default)

    assert f"systemctl enable {UNIT_NAME}" in user_data
    assert "WantedBy=multi-user.target" in user_data
    assert "ExecStopPost=/usr/bin/systemctl --no-block poweroff" in user_data
    assert "TimeoutStartSec=60min" in user_data


def test_training_compute_replaces_the_instance_when_its_user_data_changes(synth: Synth) -> None:
    (logical_id,) = synth.default.find_resources("AWS::EC2::Instance")

    # user_data_causes_replacement appends a hash of the user data to the logical id
    assert logical_id.startswith("TrainingInstance") and len(logical_id) > len("TrainingInstance") + 8


def test_training_compute_network_has_no_nat_gateway(synth: Synth) -> None:
    synth.default.resource_count_is("AWS::EC2::NatGateway", 0)
    synth.default.resource_count_is("AWS::EC2::FlowLog", 1)
    synth.default.has_resource_properties("AWS::EC2::VPCEndpoint", {"VpcEndpointType": "Gateway"})
    assert _instance(synth.default)["NetworkInterfaces"][0]["AssociatePublicIpAddress"] is True


def test_training_compute_interface_endpoints_are_optional(synth: Synth) -> None:
    def interface_endpoints(template: Template) -> int:
        endpoints = template.find_resources("AWS::EC2::VPCEndpoint")
        return sum(e["Properties"].get("VpcEndpointType") == "Interface" for e in endpoints.values())

    assert interface_endpoints(synth.default) == 0
    assert interface_endpoints(synth.options) == 6
    ingress = synth.options.find_resources("AWS::EC2::SecurityGroupIngress")
    assert [rule["Properties"]["FromPort"] for rule in ingress.values()] == [443]
    assert all("SourceSecurityGroupId" in rule["Properties"] for rule in ingress.values())


def test_training_compute_graviton_instance_boots_an_arm64_image(synth: Synth) -> None:
    parameters = synth.options.to_json()["Parameters"]
    ami_parameter = _instance(synth.options)["ImageId"]["Ref"]

    assert "arm64" in parameters[ami_parameter]["Default"]


def _s3_grants(synth: Synth) -> list[dict[str, Any]]:
    return [
        s
        for s in policy_statements(synth.default, synth.role_id)
        if as_list(s["Action"])[0].startswith("s3:")
    ]


def test_training_compute_role_reads_and_writes_only_the_prefixes_of_its_jobs(synth: Synth) -> None:
    granted = {
        (a, render(r))
        for s in _s3_grants(synth)
        for a in as_list(s["Action"])
        for r in as_list(s["Resource"])
    }
    reads = (DATA_PREFIX, MODELS_PREFIX, SCORE_INPUT_PREFIX, POLICIES_PREFIX, LISTS_PREFIX, SCORES_PREFIX)
    writes = (MODELS_PREFIX, REPORTS_PREFIX, SCORES_PREFIX)  # training: models + reports; scoring: scores
    objects = {("s3:GetObject", object_arn(synth.store_id, f"{p}*")) for p in reads}
    objects |= {("s3:PutObject", object_arn(synth.store_id, f"{p}*")) for p in writes}
    objects |= {(a, object_arn(synth.store_id, SCORE_JOB_KEY)) for a in ("s3:GetObject", "s3:DeleteObject")}
    assert granted == objects | {("s3:ListBucket", render({"Fn::GetAtt": [synth.store_id, "Arn"]}))}


def test_training_compute_role_deletes_only_the_score_request(synth: Synth) -> None:
    deletes = [s for s in _s3_grants(synth) if "s3:DeleteObject" in as_list(s["Action"])]
    assert [render(s["Resource"]) for s in deletes] == [object_arn(synth.store_id, SCORE_JOB_KEY)]


def test_training_compute_role_lists_only_the_prefixes_it_reads(synth: Synth) -> None:
    lists = [s for s in _s3_grants(synth) if as_list(s["Action"]) == ["s3:ListBucket"]]
    prefixes = {
        p for s in lists for condition in s["Condition"].values() for p in as_list(condition["s3:prefix"])
    }
    assert (
        SCORE_JOB_KEY in prefixes and f"{SCORES_PREFIX}*" in prefixes and f"{SCORE_INPUT_PREFIX}*" in prefixes
    )
    assert not any(p.startswith((REPORTS_PREFIX, "records", "labels", "jobs/*")) for p in prefixes)


def test_training_compute_role_pulls_only_its_image_and_writes_only_its_logs(synth: Synth) -> None:
    others = [
        s for s in policy_statements(synth.default, synth.role_id) if not s["Action"][0].startswith("s3:")
    ]
    by_action = {a: render(s["Resource"]) for s in others for a in as_list(s["Action"])}
    (log_group_id,) = synth.default.find_resources(
        "AWS::Logs::LogGroup", {"Properties": {"LogGroupName": DEFAULT_LOG_GROUP}}
    )

    assert by_action["ecr:GetAuthorizationToken"] == "*"
    assert "container-assets" in by_action["ecr:BatchGetImage"]
    assert {a: r for a, r in by_action.items() if a.startswith("logs:")} == {
        action: render({"Fn::GetAtt": [log_group_id, "Arn"]})
        for action in ("logs:CreateLogStream", "logs:PutLogEvents")
    }


def test_training_compute_log_group_is_the_one_the_cli_follows(synth: Synth) -> None:
    synth.default.has_resource_properties(
        "AWS::Logs::LogGroup", {"LogGroupName": DEFAULT_LOG_GROUP, "RetentionInDays": 30}
    )


def test_training_compute_log_group_is_named_per_stack(synth: Synth) -> None:
    synth.options.has_resource_properties(
        "AWS::Logs::LogGroup", {"LogGroupName": "/fraud-detection/Options/training"}
    )
