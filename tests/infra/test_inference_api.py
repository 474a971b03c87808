"""InferenceApi in bare stacks (API key with every option set, and IAM auth): auth, limits, logs, alarms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from fraud_model import constants
from infra.config import ApiAuth
from infra.inference_api import (
    DOCS_ROUTES,
    IAM_ROUTES,
    POWERTOOLS_ENV,
    ROUTES,
    STAGE_NAME,
    InferenceApi,
    serving_environment,
)
from infra.model_bucket import ModelBucket
from lambda_handler.app import create_app
from lambda_handler.config import Settings
from lambda_handler.schemas import ErrorResponse
from tests.infra.cfn import as_list, object_arn, only, policy_statements, render

TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:fraud-alarms"


@dataclass(frozen=True)
class Synth:
    key: Template  # apiKey auth, pinned model version, reserved concurrency, alarm topic
    iam: Template
    store_id: str
    function_role_id: str


def _api_stack(app: App, name: str, auth: ApiAuth) -> tuple[Stack, ModelBucket, InferenceApi]:
    stack = Stack(app, name)
    store = ModelBucket(stack, "Store")
    api = InferenceApi(
        stack,
        "Inference",
        store=store,
        environment=serving_environment(
            store_uri=store.store_uri,
            model_version="20250101T000000Z" if auth == "apiKey" else None,
            pointer_ttl_seconds=15.0,
            max_batch_size=500,
            max_body_bytes=262_144,
            auth=auth,
        ),
        architecture="arm64",
        memory_mb=2048,
        timeout_seconds=12,
        reserved_concurrency=3 if auth == "apiKey" else None,
        auth=auth,
        public_docs=auth == "apiKey",
        rate_limit=20,
        burst_limit=40,
        latency_p99_alarm_ms=1500,
        server_error_alarm_count=2,
        alarm_topic_arn=TOPIC_ARN if auth == "apiKey" else None,
        log_retention=logs.RetentionDays.TWO_WEEKS,
    )
    return stack, store, api


@pytest.fixture(scope="module")
def synth(cdk_context: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Synth:
    app = App(context=cdk_context, outdir=str(tmp_path_factory.mktemp("cdk")))
    key_stack, store, api = _api_stack(app, "Key", "apiKey")
    iam_stack, _, _ = _api_stack(app, "Iam", "iam")
    return Synth(
        key=Template.from_stack(key_stack),
        iam=Template.from_stack(iam_stack),
        store_id=key_stack.get_logical_id(store.bucket.node.default_child),  # type: ignore[arg-type]
        function_role_id=key_stack.get_logical_id(api.function.role.node.default_child),  # type: ignore[union-attr,arg-type]
    )


def _environment(template: Template) -> dict[str, Any]:
    variables: dict[str, Any] = only(template, "AWS::Lambda::Function")[1]["Properties"]["Environment"][
        "Variables"
    ]
    return variables


def _methods(template: Template) -> list[dict[str, Any]]:
    return [m["Properties"] for m in template.find_resources("AWS::ApiGateway::Method").values()]


def _routes(template: Template) -> dict[tuple[str, str], dict[str, Any]]:
    """(HTTP method, path) -> the method's properties."""
    resources = template.find_resources("AWS::ApiGateway::Resource")
    paths = {logical_id: r["Properties"]["PathPart"] for logical_id, r in resources.items()}
    parents = {logical_id: r["Properties"]["ParentId"] for logical_id, r in resources.items()}

    def path(logical_id: str) -> str:
        parent = parents[logical_id].get("Ref")
        return (path(parent) if parent in paths else "") + "/" + paths[logical_id]

    return {(m["HttpMethod"], path(m["ResourceId"]["Ref"])): m for m in _methods(template)}


def test_inference_api_environment_is_read_by_the_serving_settings(synth: Synth) -> None:
    fraud_vars = {name for name in _environment(synth.key) if name.startswith(constants.ENV_PREFIX)}
    settings_vars = {f"{constants.ENV_PREFIX}{field}".upper() for field in Settings.model_fields}

    assert fraud_vars <= settings_vars
    assert constants.S3_ENDPOINT_URL_ENV not in fraud_vars  # AWS's own endpoint in AWS


def test_inference_api_environment_points_at_the_store(synth: Synth) -> None:
    environment = _environment(synth.key)

    assert render(environment[constants.MODEL_STORE_ENV]) == f"s3://{render({'Ref': synth.store_id})}"
    assert environment[constants.MODEL_VERSION_ENV] == "20250101T000000Z"
    assert environment[constants.POINTER_TTL_ENV] == "15.0"
    assert environment[constants.MAX_BATCH_SIZE_ENV] == "500"
    assert environment[constants.MAX_BODY_BYTES_ENV] == "262144"
    assert environment[constants.RECORDS_ENV] == "log"  # records in the log: no network call per answer
    assert POWERTOOLS_ENV.items() <= environment.items()


def test_inference_api_environment_values_parse_as_settings(
    synth: Synth, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in _environment(synth.key).items():
        monkeypatch.setenv(name, render(value))

    settings = Settings()

    assert settings.max_batch_size == 500
    assert settings.model_version == "20250101T000000Z"


def test_inference_api_function_reads_models_policies_and_lists_and_appends_labels(synth: Synth) -> None:
    s3 = [s for s in policy_statements(synth.key, synth.function_role_id) if "s3:" in str(s["Action"])]
    granted = {(a, render(r)) for s in s3 for a in as_list(s["Action"]) for r in as_list(s["Resource"])}
    (listing,) = [s for s in s3 if s["Action"] == "s3:ListBucket"]

    assert granted == {
        *(("s3:GetObject", object_arn(synth.store_id, f"{p}*")) for p in ("models/", "policies/", "lists/")),
        ("s3:PutObject", object_arn(synth.store_id, "labels/*")),
        ("s3:ListBucket", render({"Fn::GetAtt": [synth.store_id, "Arn"]})),
    }
    prefixes = [v for p in ("models", "policies", "lists") for v in (p, f"{p}/", f"{p}/*")]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": prefixes}}


def test_inference_api_requires_an_api_key_on_every_method_but_the_docs(synth: Synth) -> None:
    required = {route: m["ApiKeyRequired"] for route, m in _routes(synth.key).items()}

    assert required.keys() == set(ROUTES)
    assert {route for route, needs_key in required.items() if not needs_key} == DOCS_ROUTES | IAM_ROUTES
    signed = {route for route, m in _routes(synth.key).items() if m["AuthorizationType"] == "AWS_IAM"}
    assert signed == IAM_ROUTES == {("POST", "/labels")}  # labels: SigV4 even where scoring takes a key
    synth.key.resource_count_is("AWS::ApiGateway::UsagePlanKey", 1)


def test_inference_api_iam_auth_signs_every_method_without_public_docs(synth: Synth) -> None:
    methods = _methods(synth.iam)

    assert len(methods) == len(ROUTES)
    assert all(m["AuthorizationType"] == "AWS_IAM" for m in methods)
    synth.iam.resource_count_is("AWS::ApiGateway::ApiKey", 0)


def test_inference_api_tells_the_app_the_api_key_header(synth: Synth) -> None:
    assert _environment(synth.key)[constants.API_KEY_HEADER_ENV] == "x-api-key"
    assert constants.API_KEY_HEADER_ENV not in _environment(synth.iam)


def _gateway_errors(template: Template) -> dict[str, tuple[str | None, ErrorResponse]]:
    """Each gateway response type -> (status, its body as API Gateway would fill it in)."""
    rendered = {}
    for response in template.find_resources("AWS::ApiGateway::GatewayResponse").values():
        properties = response["Properties"]
        assert properties["ResponseParameters"] == {
            "gatewayresponse.header.Content-Type": "'application/json'"
        }
        body = properties["ResponseTemplates"]["application/json"]
        body = body.replace("$context.error.messageString", '"Forbidden \\"quoted\\""')
        body = body.replace("$context.requestId", "c0ffee-1")
        rendered[properties["ResponseType"]] = (
            properties.get("StatusCode"),
            ErrorResponse.model_validate_json(body),
        )
    return rendered


def test_inference_api_gateway_errors_have_the_api_error_shape(synth: Synth) -> None:
    for template in (synth.key, synth.iam):
        errors = _gateway_errors(template)

        assert {"DEFAULT_4XX", "DEFAULT_5XX", "INVALID_API_KEY", "THROTTLED"} <= errors.keys()
        assert all(error.error.request_id == "c0ffee-1" for _, error in errors.values())
        assert errors["THROTTLED"][0] == "429"
        assert errors["DEFAULT_4XX"][1].error.message == 'Forbidden "quoted"'


def test_inference_api_unknown_route_is_a_404_with_api_keys(synth: Synth) -> None:
    status, error = _gateway_errors(synth.key)["MISSING_AUTHENTICATION_TOKEN"]
    assert (status, error.error.code) == ("404", "not_found")
    status, error = _gateway_errors(synth.iam)["MISSING_AUTHENTICATION_TOKEN"]  # or an unsigned request
    assert (status, error.error.code) == ("403", "forbidden")


def test_inference_api_gateway_body_validation_is_a_422_on_the_body(synth: Synth) -> None:
    status, error = _gateway_errors(synth.key)["BAD_REQUEST_BODY"]
    assert (status, error.error.code) == ("422", "validation_error")
    assert [detail.field for detail in error.error.details] == ["body"]


def test_inference_api_api_key_value_is_generated_by_api_gateway(synth: Synth) -> None:
    (key,) = synth.key.find_resources("AWS::ApiGateway::ApiKey").values()

    assert "Value" not in key["Properties"]
    assert key["Properties"]["Enabled"] is True


def test_inference_api_serves_the_fastapi_routes(synth: Synth) -> None:
    assert _routes(synth.key).keys() == set(ROUTES)


def test_inference_api_routes_are_the_fastapi_app_routes() -> None:
    app = create_app()
    documented = {(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops}

    assert set(ROUTES) == documented | {("GET", app.docs_url), ("GET", app.openapi_url)}


def test_inference_api_validates_request_bodies(synth: Synth) -> None:
    validator_id, validator = only(synth.key, "AWS::ApiGateway::RequestValidator")
    methods = _methods(synth.key)

    assert validator["Properties"]["ValidateRequestBody"] is True
    assert all(m["RequestValidatorId"] == {"Ref": validator_id} for m in methods)
    posts = [m for m in methods if m["HttpMethod"] == "POST"]
    assert len(posts) == 3  # /predict, /predict/batch, /labels
    assert all("application/json" in m["RequestModels"] for m in posts)
    synth.key.has_resource_properties("AWS::ApiGateway::Model", {"Schema": {"type": "object"}})


def test_inference_api_throttles_the_stage_and_the_usage_plan(synth: Synth) -> None:
    synth.key.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": STAGE_NAME,
            "MethodSettings": Match.array_with(
                [Match.object_like({"ThrottlingRateLimit": 20, "ThrottlingBurstLimit": 40})]
            ),
        },
    )
    synth.key.has_resource_properties(
        "AWS::ApiGateway::UsagePlan", {"Throttle": {"RateLimit": 20, "BurstLimit": 40}}
    )


def test_inference_api_writes_access_logs_without_bodies(synth: Synth) -> None:
    _, stage = only(synth.key, "AWS::ApiGateway::Stage")
    properties = stage["Properties"]
    destination = render(properties["AccessLogSetting"]["DestinationArn"])
    (access_log_id,) = [i for i in synth.key.find_resources("AWS::Logs::LogGroup") if f'"{i}"' in destination]

    assert '"status":"$context.status"' in properties["AccessLogSetting"]["Format"]
    assert all(setting["DataTraceEnabled"] is False for setting in properties["MethodSettings"])
    assert synth.key.to_json()["Resources"][access_log_id]["Properties"]["RetentionInDays"] == 14


def test_inference_api_function_logs_have_a_retention(synth: Synth) -> None:
    properties = only(synth.key, "AWS::Lambda::Function")[1]["Properties"]
    log_group_id = properties["LoggingConfig"]["LogGroup"]["Ref"]

    assert synth.key.to_json()["Resources"][log_group_id]["Properties"]["RetentionInDays"] == 14


def test_inference_api_function_has_the_configured_size(synth: Synth) -> None:
    synth.key.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "PackageType": "Image",
            "Architectures": ["arm64"],
            "MemorySize": 2048,
            "Timeout": 12,
            "ReservedConcurrentExecutions": 3,
        },
    )


def test_inference_api_alarms_on_server_errors_and_p99_latency(synth: Synth) -> None:
    alarms = [a["Properties"] for a in synth.key.find_resources("AWS::CloudWatch::Alarm").values()]
    by_metric = {a["MetricName"]: a for a in alarms}

    assert set(by_metric) == {"5XXError", "Latency"}
    assert by_metric["5XXError"]["Threshold"] == 2
    assert by_metric["Latency"]["ExtendedStatistic"] == "p99"
    assert by_metric["Latency"]["Threshold"] == 1500
    assert all(a["AlarmActions"] == [TOPIC_ARN] for a in alarms)
