"""The handler reading its model from S3: moto in process (mock_aws) and over HTTP (ThreadedMotoServer)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws
from moto.server import ThreadedMotoServer

from fraud_model import constants
from fraud_model.store import LocalStore, S3Store
from lambda_handler import recording
from lambda_handler.handler import handler
from tests.lambda_handler import model_factory
from tests.lambda_handler.gateway_events import Context, body_of, http_api

BUCKET, PREFIX = "fraud-models-test", "serving"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(constants.MODEL_STORE_ENV, f"s3://{BUCKET}/{PREFIX}")


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _bucket(client: Any) -> S3Store:
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return S3Store(BUCKET, PREFIX, client=client)


def test_s3_model_is_served_from_mock_aws(
    aws: None, reference: tuple[LocalStore, str], context: Context
) -> None:
    with mock_aws():
        version = model_factory.copy_version(*reference, _bucket(boto3.client("s3")))
        response = handler(http_api(), context)
    assert response["statusCode"] == 200
    assert body_of(response)["model_version"] == version


@pytest.fixture
def served_bucket(aws: None, moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Store]:
    monkeypatch.setenv(constants.S3_ENDPOINT_URL_ENV, moto_server)
    client = boto3.client("s3", endpoint_url=moto_server)
    store = _bucket(client)
    yield store
    recording.reset()  # the store recorder's thread writes after the answer: let it finish before emptying
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_s3_model_is_served_over_http_from_a_moto_server(
    served_bucket: S3Store, reference: tuple[LocalStore, str], context: Context
) -> None:
    version = model_factory.copy_version(*reference, served_bucket)
    assert body_of(handler(http_api(), context))["model_version"] == version


def test_s3_promotion_is_picked_up_without_a_redeploy(
    served_bucket: S3Store,
    reference: tuple[LocalStore, str],
    context: Context,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FRAUD_POINTER_TTL_SECONDS", "0")
    first = model_factory.copy_version(*reference, served_bucket)
    handler(http_api(), context)
    second = model_factory.copy_version(served_bucket, first, served_bucket)
    assert body_of(handler(http_api(), context))["model_version"] == second


def test_s3_outage_keeps_the_last_good_model(
    served_bucket: S3Store,
    reference: tuple[LocalStore, str],
    context: Context,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FRAUD_POINTER_TTL_SECONDS", "0")
    version = model_factory.copy_version(*reference, served_bucket)
    handler(http_api(), context)
    with monkeypatch.context() as outage:
        outage.setattr(BaseClient, "_make_api_call", _unreachable)  # every S3 call fails
        response = handler(http_api(), context)
    assert response["statusCode"] == 200
    assert body_of(response)["model_version"] == version


def _unreachable(self: BaseClient, operation: str, params: Any) -> None:
    raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")
