"""Where API Gateway puts the stage: split into the app's root_path and path."""

from __future__ import annotations

from lambda_handler import events
from tests.lambda_handler.gateway_events import http_api, load, rest_api


def test_events_http_api_stage_is_the_root_path() -> None:
    assert events.split_path(http_api(path="/predict/batch")) == ("/prod", "/predict/batch")


def test_events_http_api_default_stage_has_no_root_path() -> None:
    assert events.split_path(http_api(stage="$default")) == ("", "/predict")


def test_events_rest_api_root_path_comes_from_the_request_context() -> None:
    assert events.split_path(rest_api(path="/docs")) == ("/prod", "/docs")


def test_events_rest_api_path_with_the_stage_is_split_too() -> None:
    event = load("rest_api_v1_predict.json")
    event["path"] = "/prod/predict"
    assert events.split_path(event) == ("/prod", "/predict")


def test_events_rest_api_headers_are_case_insensitive() -> None:
    assert events.header(rest_api(), "content-type") == "application/json"
