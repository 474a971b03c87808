"""`python -m training_job`, the container's entry point: configured by FRAUD_* variables, exit code out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fraud_model import artifact
from fraud_model.store import open_store
from tests.training_job.test_commands import label_less_csv
from training_job.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def test_main_trains_from_the_environment_and_exits_zero(
    paysim_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {
        "DATA": str(paysim_csv),
        "MODEL_STORE": str(tmp_path / "store"),
        "MAX_ROUNDS": "5",
        "THREADS": "1",
        "PLOTS": "false",
        "PROGRESS": "false",
    }
    for name, value in settings.items():
        monkeypatch.setenv(f"FRAUD_{name}", value)
    assert main([]) == 0
    assert artifact.read_pointer(open_store(str(tmp_path / "store")))


def test_module_exits_non_zero_with_one_line_on_bad_data(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUD_")}
    env |= {"FRAUD_DATA": str(label_less_csv(tmp_path)), "FRAUD_MODEL_STORE": str(tmp_path / "store")}
    done = subprocess.run(
        [sys.executable, "-m", "training_job"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3
    assert done.stderr.strip().splitlines()[-1].startswith("error: ") and "Traceback" not in done.stderr
