"""The pinned CDK CLI (`npm ci` installs it) synthesizes the app offline, exactly as `cdk deploy` would."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from infra.assets import REPO_ROOT
from infra.config import InfraConfig

CDK = REPO_ROOT / "node_modules" / ".bin" / "cdk"


@pytest.fixture(scope="module")
def cli_synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    assert CDK.exists(), "the CDK CLI is missing: run `npm ci --no-audit --no-fund` (the Makefile does)"
    outdir = tmp_path_factory.mktemp("cdk.out")
    env = os.environ | {
        "CDK_DISABLE_VERSION_CHECK": "1",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    result = subprocess.run(
        [str(CDK), "synth", "--no-notices", "--quiet", "--output", str(outdir)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result, outdir


def test_cdk_cli_synthesizes_the_stack_offline(
    cli_synth: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, outdir = cli_synth
    template = json.loads((outdir / f"{InfraConfig().stack_name}.template.json").read_text())

    assert result.returncode == 0, result.stderr
    assert any(r["Type"] == "AWS::Lambda::Function" for r in template["Resources"].values())


def test_cdk_cli_reports_no_nag_violation(cli_synth: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, outdir = cli_synth
    report = json.loads((outdir / "validation-report.json").read_text())

    assert result.returncode == 0, result.stderr
    assert all(plugin["conclusion"] == "success" for plugin in report.get("pluginReports", []))
