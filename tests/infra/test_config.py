"""InfraConfig: CDK context keys, their defaults, coercion of `-c key=value` strings, and early errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App

from infra.assets import REPO_ROOT
from infra.config import InfraConfig, context_keys


def _config(**context: Any) -> InfraConfig:
    return InfraConfig.from_context(App(context=context).node)


def test_config_defaults_without_context() -> None:
    assert _config() == InfraConfig()


def test_config_coerces_command_line_strings() -> None:
    config = _config(apiRateLimit="7", trainingInterfaceEndpoints="true", pointerTtlSeconds="2.5")

    assert (config.api_rate_limit, config.training_interface_endpoints, config.pointer_ttl_seconds) == (
        7,
        True,
        2.5,
    )


def test_config_accepts_json_values_from_cdk_json() -> None:
    config = _config(lambdaReservedConcurrency=4, trainingInterfaceEndpoints=False, modelVersion="v1")

    assert (config.lambda_reserved_concurrency, config.training_interface_endpoints) == (4, False)
    assert config.model_version == "v1"


def test_config_rejects_a_value_of_the_wrong_type() -> None:
    with pytest.raises(ValueError, match="context lambdaMemoryMb must be an integer, got 'lots'"):
        _config(lambdaMemoryMb="lots")


def test_config_rejects_an_unknown_auth_mode() -> None:
    with pytest.raises(ValueError, match="context apiAuth must be 'apiKey' or 'iam', got 'cognito'"):
        _config(apiAuth="cognito")


def test_config_rejects_a_timeout_api_gateway_cannot_wait_for() -> None:
    with pytest.raises(ValueError, match="lambdaTimeoutSeconds must be 1..29"):
        _config(lambdaTimeoutSeconds=60)


def test_config_keys_are_not_feature_flags_in_cdk_json() -> None:
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]

    assert not set(context_keys()) & set(context)  # defaults live in InfraConfig only


def test_config_training_workers_default_to_none() -> None:
    assert (InfraConfig().training_workers, InfraConfig().training_worker_instance_type) == (0, None)


def test_config_reads_training_workers_from_the_command_line() -> None:
    config = _config(trainingWorkers="2", trainingWorkerInstanceType="m7i.2xlarge")

    assert (config.training_workers, config.training_worker_instance_type) == (2, "m7i.2xlarge")


def test_config_rejects_a_negative_number_of_training_workers() -> None:
    with pytest.raises(ValueError, match="context trainingWorkers must be 0 or more, got -1"):
        _config(trainingWorkers="-1")


@pytest.mark.parametrize("value", ["two", "2.5", 2.5, True])
def test_config_rejects_a_number_of_training_workers_that_is_not_whole(value: Any) -> None:
    with pytest.raises(ValueError, match=f"context trainingWorkers must be an integer, got {value!r}"):
        _config(trainingWorkers=value)
