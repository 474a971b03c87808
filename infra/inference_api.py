"""The inference API: the FastAPI container as a Lambda function behind an authenticated REST API.

Every route needs an API key (`x-api-key`, default) or SigV4 IAM auth, except the API's docs page and schema
(unless `publicDocs` is off); throttling, body validation, access logs, gateway errors in the API's error
shape and two alarms (5xx count, p99 latency) sit in front of the function, which reads only `models/`.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from fraud_model import constants
from infra import assets, nag
from infra.config import ApiAuth, LambdaArchitecture
from infra.gateway_errors import add_gateway_errors
from infra.model_bucket import LABELS_PREFIX, LISTS_PREFIX, MODELS_PREFIX, POLICIES_PREFIX, ModelBucket

STAGE_NAME = "prod"
# The FastAPI routes; API Gateway answers anything else with 403 without invoking the function.
ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "/predict"),
    ("POST", "/predict/batch"),
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/model"),
    ("GET", "/policy"),
    ("POST", "/labels"),
    ("GET", "/docs"),
    ("GET", "/openapi.json"),
)
DOCS_ROUTES = frozenset({("GET", "/docs"), ("GET", "/openapi.json")})  # public with `publicDocs`
# Signed with SigV4 whatever `apiAuth` is: a case-management system's role writes labels, a client's key
# that scores transactions does not.
IAM_ROUTES = frozenset({("POST", "/labels")})
API_KEY_HEADER = "x-api-key"  # API Gateway's, fixed
POWERTOOLS_ENV = {
    "POWERTOOLS_SERVICE_NAME": "fraud-api",
    "POWERTOOLS_METRICS_NAMESPACE": "FraudDetection",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}


def serving_environment(
    *,
    store_uri: str,
    model_version: str | None,
    pointer_ttl_seconds: float,
    max_batch_size: int,
    max_body_bytes: int,
    auth: ApiAuth,
) -> dict[str, str]:
    """The function's environment: the `FRAUD_*` variables that `lambda_handler.config.Settings` reads."""
    env = {
        constants.MODEL_STORE_ENV: store_uri,
        constants.POINTER_TTL_ENV: str(pointer_ttl_seconds),
        constants.MAX_BATCH_SIZE_ENV: str(max_batch_size),
        constants.MAX_BODY_BYTES_ENV: str(max_body_bytes),
        # a JSON line a request in the function's log: no network call in the answer; the log subscription
        # delivers them to records/ (infra.decision_records)
        constants.RECORDS_ENV: "log",
        **POWERTOOLS_ENV,
    }
    if model_version:
        env[constants.MODEL_VERSION_ENV] = model_version
    if auth == "apiKey":  # /openapi.json declares the key, so /docs can send it
        env[constants.API_KEY_HEADER_ENV] = API_KEY_HEADER
    return env


class InferenceApi(Construct):
    """The function, its REST API (stage `prod`), the API key and usage plan, and the alarms."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        store: ModelBucket,
        environment: dict[str, str],
        architecture: LambdaArchitecture,
        memory_mb: int,
        timeout_seconds: int,
        reserved_concurrency: int | None,
        auth: ApiAuth,
        public_docs: bool,
        rate_limit: int,
        burst_limit: int,
        latency_p99_alarm_ms: int,
        server_error_alarm_count: int,
        alarm_topic_arn: str | None,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, id_)
        self.function = self._function(
            store, environment, architecture, memory_mb, timeout_seconds, reserved_concurrency, log_retention
        )
        self.api = self._api(auth, public_docs, rate_limit, burst_limit, log_retention)
        self.url = self.api.url  # ends with `/prod/`
        self.api_key = self._api_key(rate_limit, burst_limit) if auth == "apiKey" else None
        self.alarms = self._alarms(latency_p99_alarm_ms, server_error_alarm_count, alarm_topic_arn)

    def _function(
        self,
        store: ModelBucket,
        environment: dict[str, str],
        architecture: LambdaArchitecture,
        memory_mb: int,
        timeout_seconds: int,
        reserved_concurrency: int | None,
        log_retention: logs.RetentionDays,
    ) -> lambda_.DockerImageFunction:
        arm = architecture == "arm64"
        log_group = logs.LogGroup(
            self, "FunctionLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Inference function: read models/, policies/, lists/; append labels/; write its log.",
        )
        log_group.grant_write(role)
        self.log_group = log_group  # the decision records' subscription reads it
        store.grant_read(role, MODELS_PREFIX, POLICIES_PREFIX, LISTS_PREFIX)
        store.grant_write(role, LABELS_PREFIX)  # POST /labels appends parts; it reads and replaces nothing
        function = lambda_.DockerImageFunction(
            self,
            "Function",
            code=lambda_.DockerImageCode.from_image_asset(
                str(assets.REPO_ROOT),
                file=assets.INFERENCE.dockerfile,
                exclude=assets.excludes(assets.INFERENCE),
                # Build for the function's architecture, whatever the machine that runs `cdk deploy`.
                platform=ecr_assets.Platform.LINUX_ARM64 if arm else ecr_assets.Platform.LINUX_AMD64,
            ),
            architecture=lambda_.Architecture.ARM_64 if arm else lambda_.Architecture.X86_64,
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_seconds),
            reserved_concurrent_executions=reserved_concurrency,
            environment=environment,
            role=role,
            log_group=log_group,
            description="Fraud-detection inference API (FastAPI + Mangum)",
        )
        return function

    def _api(
        self,
        auth: ApiAuth,
        public_docs: bool,
        rate_limit: int,
        burst_limit: int,
        retention: logs.RetentionDays,
    ) -> apigw.RestApi:
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=retention, removal_policy=RemovalPolicy.DESTROY
        )
        api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"{Stack.of(self).stack_name}-api",  # the alarms' ApiName dimension
            description="Fraud-detection inference API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,  # execution logs (ERROR level) need the account-level API Gateway role
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=_access_log_format(),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # would log request bodies: transactions stay out of logs
                metrics_enabled=True,
                throttling_rate_limit=rate_limit,
                throttling_burst_limit=burst_limit,
            ),
            default_method_options=apigw.MethodOptions(
                api_key_required=auth == "apiKey",
                authorization_type=apigw.AuthorizationType.IAM
                if auth == "iam"
                else apigw.AuthorizationType.NONE,
            ),
        )
        api.node.try_remove_child("Endpoint")  # the stack outputs the URL once, as ApiUrl
        validator = api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        json_object = api.add_model(
            "JsonObject",
            content_type="application/json",
            schema=apigw.JsonSchema(schema=apigw.JsonSchemaVersion.DRAFT4, type=apigw.JsonSchemaType.OBJECT),
        )
        integration = apigw.LambdaIntegration(self.function, allow_test_invoke=False)
        public: list[apigw.Method] = []
        for method, path in ROUTES:
            is_public = public_docs and (method, path) in DOCS_ROUTES
            signed = (method, path) in IAM_ROUTES
            added = api.root.resource_for_path(path).add_method(
                method,
                integration,
                request_validator=validator,
                # A POST needs a JSON object body; the function validates its fields.
                request_models={"application/json": json_object} if method == "POST" else None,
                # A browser sends no key: the docs page and the schema (no data, no model) stay open.
                api_key_required=False if is_public or signed else None,
                authorization_type=apigw.AuthorizationType.NONE
                if is_public
                else apigw.AuthorizationType.IAM
                if signed
                else None,
            )
            if is_public:
                public.append(added)
        add_gateway_errors(api, auth)
        self._acknowledge_api(api, auth, public)
        return api

    def _api_key(self, rate_limit: int, burst_limit: int) -> apigw.ApiKey:
        key = apigw.ApiKey(self, "ApiKey", description="Fraud-detection API: default client key")
        plan = self.api.add_usage_plan(
            "UsagePlan",
            description="Throttle for clients of the fraud-detection API",
            throttle=apigw.ThrottleSettings(rate_limit=rate_limit, burst_limit=burst_limit),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
        )
        plan.add_api_key(key)
        return key

    def _alarms(self, latency_ms: int, error_count: int, topic_arn: str | None) -> list[cloudwatch.Alarm]:
        period = Duration.minutes(5)
        alarms = [
            cloudwatch.Alarm(
                self,
                "ServerErrors",
                alarm_description=f"{error_count}+ HTTP 5xx answers from the fraud API in 5 minutes",
                metric=self.api.metric_server_error(period=period, statistic="Sum"),
                threshold=error_count,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            cloudwatch.Alarm(
                self,
                "LatencyP99",
                # Three periods in a row: one cold start (1-3 s) can be the p99 of a quiet 5 minutes.
                alarm_description=f"Fraud API p99 latency above {latency_ms} ms for 15 minutes",
                metric=self.api.metric_latency(period=period, statistic="p99"),
                threshold=latency_ms,
                evaluation_periods=3,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
        ]
        if topic_arn:
            topic = sns.Topic.from_topic_arn(self, "AlarmTopic", topic_arn)
            for alarm in alarms:
                alarm.add_alarm_action(cw_actions.SnsAction(topic))
        return alarms

    def _acknowledge_api(self, api: apigw.RestApi, auth: ApiAuth, public: list[apigw.Method]) -> None:
        findings = {
            "AwsSolutions-APIG3": (
                "No WAF web ACL (~$6/month before requests): clients are authenticated and throttled per "
                "stage and per usage plan; attach a web ACL when the API is exposed to untrusted networks."
            ),
            "AwsSolutions-COG4": (
                "Machine clients, not end users: the API uses API keys or SigV4 IAM auth (context apiAuth), "
                "not a Cognito user pool."
            ),
            nag.managed_policy("service-role/AmazonAPIGatewayPushToCloudWatchLogs"): (
                "API Gateway's account-level role for execution logs; this AWS policy is the one API Gateway "
                "documents for it."
            ),
        }
        if auth == "apiKey":
            findings["AwsSolutions-APIG4"] = (
                "Every method requires an API key (x-api-key) tied to a usage plan; set context apiAuth=iam "
                "for SigV4 IAM authorization."
            )
        nag.acknowledge(api, findings)
        docs = (
            "The docs page and OpenAPI schema only (no data, no model), open so that a browser can load "
            "them; context publicDocs=false signs them too."
        )
        for method in public if auth == "iam" else ():
            nag.acknowledge(method, {"AwsSolutions-APIG4": docs})


def _access_log_format() -> apigw.AccessLogFormat:
    """JSON lines with status and latencies; no bodies, no caller identities beyond the API key id."""
    f = apigw.AccessLogField
    return apigw.AccessLogFormat.custom(
        "{"
        + ",".join(
            f'"{name}":"{value}"'
            for name, value in (
                ("requestId", f.context_request_id()),
                ("ip", f.context_identity_source_ip()),
                ("method", f.context_http_method()),
                ("path", f.context_resource_path()),
                ("status", f.context_status()),
                ("bytes", f.context_response_length()),
                ("latencyMs", f.context_response_latency()),
                ("integrationLatencyMs", f.context_integration_latency()),
                ("apiKeyId", f.context_identity_api_key_id()),
                ("error", f.context_error_message()),
            )
        )
        + "}"
    )
