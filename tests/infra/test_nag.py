"""cdk-nag AwsSolutions on the app: nothing unacknowledged, no stale acknowledgement, findings fail synth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks

from infra import nag
from infra.app import build

EVERY_OPTION = {
    "apiAuth": "iam",
    "trainingInstanceType": "m7g.xlarge",
    "trainingInterfaceEndpoints": "true",
    "trainingWorkers": "2",
    "trainingWorkerInstanceType": "m7g.2xlarge",
    "lambdaArchitecture": "arm64",
    "lambdaReservedConcurrency": "5",
    "modelVersion": "20250101T000000Z",
    "alarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:fraud-alarms",
}


@dataclass(frozen=True)
class Nag:
    unacknowledged: dict[str, list[str]]  # configuration -> rule ids still reported
    findings_without_acknowledgements: set[str]
    acknowledged: dict[str, str]  # finding id -> reason
    synth_error: str


def _violations(app: App) -> list[str]:
    report = AwsSolutionsChecks().validate_scope(app)
    return sorted(violation.rule_name for violation in report.violations)


@pytest.fixture(scope="module")
def checked(cdk_context: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Nag:
    unacknowledged = {}
    for name, overrides in (("defaults", {}), ("every option", EVERY_OPTION)):
        app = App(context=cdk_context | overrides)
        build(app)
        unacknowledged[name] = _violations(app)

    recorded: dict[str, str] = {}
    findings: set[str] = set()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nag, "acknowledge", lambda _scope, acknowledged: recorded.update(acknowledged))
        for overrides in ({}, EVERY_OPTION):
            app = App(context=cdk_context | overrides)
            build(app)
            findings.update(_violations(app))

    app = App(context=cdk_context, outdir=str(tmp_path_factory.mktemp("cdk")))
    build(app)
    s3.Bucket(Stack(app, "Careless"), "Unlogged", enforce_ssl=True)
    with pytest.raises(RuntimeError) as synth_error:
        app.synth()
    return Nag(unacknowledged, findings, recorded, str(synth_error.value))


def test_nag_finds_nothing_unacknowledged_with_defaults(checked: Nag) -> None:
    assert checked.unacknowledged["defaults"] == []


def test_nag_finds_nothing_unacknowledged_with_every_option(checked: Nag) -> None:
    assert checked.unacknowledged["every option"] == []


def test_nag_acknowledgements_each_name_a_real_finding(checked: Nag) -> None:
    assert set(checked.acknowledged) - checked.findings_without_acknowledgements == set()


def test_nag_acknowledgements_give_a_specific_reason(checked: Nag) -> None:
    assert checked.acknowledged
    assert all(len(reason) > 60 for reason in checked.acknowledged.values())


def test_nag_plugin_fails_synth_on_a_new_finding(checked: Nag) -> None:
    assert "ValidationFailed" in checked.synth_error
