"""CDK test setup: silence jsii's node-version banner; give test apps the context that `cdk.json` gives."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cdk_context() -> dict[str, Any]:
    """The feature flags and settings from `cdk.json`, so in-process apps synthesize what `cdk synth` does."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return context
