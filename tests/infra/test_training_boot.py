"""The training instance's scripts, run by bash with fake `aws`, `docker` and `curl` on the PATH."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fraud_model import constants
from infra import training_boot
from training_job import remote
from training_job.config import TrainSettings

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:abc123"
FAKE_TOOL = """#!/bin/bash
echo "$(basename "$0") $*" >> "$CALLS"
case "$(basename "$0") $1" in
  "curl -sf")
    case "$*" in
      *meta-data/instance-id) echo i-0abc ;;
      *meta-data/local-ipv4) echo 10.0.0.5 ;;
      *) echo token ;;
    esac ;;
  "aws ecr") echo password ;;
  "docker login") cat > /dev/null ;;  # read the password, as docker does (else: SIGPIPE under pipefail)
  "docker run") exit "$JOB_EXIT" ;;
esac
exit 0
"""


LOG_GROUP = remote.log_group_name("FraudTest")


def _commands(dask_workers: int = 0) -> list[str]:
    return training_boot.boot_commands(
        image_uri=IMAGE,
        region="eu-west-1",
        store_uri="s3://store",
        data_uri="s3://store/data/",
        score_job_uri="s3://store/jobs/score.json",
        timeout_minutes=42,
        instance_type="m7i.xlarge",
        log_group=LOG_GROUP,
        dask_workers=dask_workers,
    )


def _heredoc(path: str, dask_workers: int = 0) -> str:
    """The content that the user data writes to `path`."""
    for command in _commands(dask_workers):
        if command.startswith(f"cat > {path} <<"):
            return command.split("\n", 1)[1].rsplit("\n", 1)[0]
    raise AssertionError(f"user data does not write {path}")


def _env_file(path: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in _heredoc(path).splitlines())


def _run_job(
    tmp_path: Path, job_exit: int, fake_tool: str = FAKE_TOOL, dask_workers: int = 0
) -> tuple[int, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("aws", "docker", "curl", "timeout", "sleep"):
        (bin_dir / tool).write_text(fake_tool)
        (bin_dir / tool).chmod(0o755)
    script = tmp_path / "run"
    script.write_text(_heredoc(training_boot.RUN_SCRIPT_PATH, dask_workers))
    env = _env_file(training_boot.UNIT_ENV_PATH)
    calls = tmp_path / "calls"
    env |= {"PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(calls), "JOB_EXIT": str(job_exit)}
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=30)
    return result.returncode, calls.read_text().splitlines()


def test_boot_commands_are_valid_bash(tmp_path: Path) -> None:
    user_data = tmp_path / "user-data"
    user_data.write_text("\n".join(_commands()))
    run_script = tmp_path / "run"
    run_script.write_text(_heredoc(training_boot.RUN_SCRIPT_PATH))

    for script in (user_data, run_script):
        subprocess.run(["bash", "-n", str(script)], check=True)


def test_boot_commands_enable_the_unit_without_starting_it() -> None:
    unit_commands = [c for c in _commands() if c.startswith("systemctl") and training_boot.UNIT_NAME in c]

    assert unit_commands == [f"systemctl enable {training_boot.UNIT_NAME}"]  # the job runs from the next boot


def test_boot_unit_runs_on_every_boot_and_powers_off() -> None:
    unit = _heredoc(f"/etc/systemd/system/{training_boot.UNIT_NAME}")

    assert "WantedBy=multi-user.target" in unit
    assert f"ExecStart={training_boot.RUN_SCRIPT_PATH}" in unit
    assert "ExecStopPost=/usr/bin/systemctl --no-block poweroff" in unit
    assert "TimeoutStartSec=42min" in unit
    assert f"ConditionPathExists=!{training_boot.DISABLED_FLAG_PATH}" in unit


def test_boot_job_environment_is_read_by_the_training_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    job_env = _env_file(training_boot.JOB_ENV_PATH)
    fraud_vars = {name for name in job_env if name.startswith(constants.ENV_PREFIX)}
    for name, value in job_env.items():
        monkeypatch.setenv(name, value)

    settings = TrainSettings()

    # every FRAUD_* variable is a training setting, or the score-request hand-over (training_job/__main__.py)
    assert fraud_vars - {constants.SCORE_JOB_ENV} <= {
        f"{constants.ENV_PREFIX}{field}".upper() for field in TrainSettings.model_fields
    }
    assert (settings.data, settings.model_store, settings.progress) == (
        ["s3://store/data/"],
        "s3://store",
        False,
    )
    assert job_env[constants.SCORE_JOB_ENV] == "s3://store/jobs/score.json"


@pytest.mark.parametrize("job_exit", [0, 3])
def test_run_script_reports_the_job_exit_code(tmp_path: Path, job_exit: int) -> None:
    code, calls = _run_job(tmp_path, job_exit)

    command, events = calls[-1].split(" --log-events ", 1)
    assert code == job_exit
    assert command.startswith("aws logs put-log-events")
    assert json.loads(events)[0]["message"] == f"{remote.RESULT_PREFIX}{job_exit}"


def test_run_script_runs_the_image_with_the_job_settings(tmp_path: Path) -> None:
    _, calls = _run_job(tmp_path, 0)

    (run,) = [c for c in calls if c.startswith("docker run")]
    assert run.endswith(IMAGE)
    assert "--network host" in run
    assert f"awslogs-group={LOG_GROUP}" in run
    assert "awslogs-stream=i-0abc/" in run  # remote.py follows streams prefixed with the instance id
    assert f"--env-file {training_boot.JOB_ENV_PATH}" in run
    assert f"docker pull --quiet {IMAGE}" in calls


def test_run_script_reports_a_failed_pull_without_running_the_job(tmp_path: Path) -> None:
    failing_pull = FAKE_TOOL.replace('  "docker run")', '  "docker pull") exit 1 ;;\n  "docker run")')

    code, calls = _run_job(tmp_path, 0, fake_tool=failing_pull)

    assert code == 91
    assert not any(c.startswith("docker run") for c in calls)
    assert f"{remote.RESULT_PREFIX}91" in calls[-1]


def test_run_script_without_workers_starts_no_scheduler(tmp_path: Path) -> None:
    _, calls = _run_job(tmp_path, 0)

    assert not any("dask" in call or "FRAUD_DASK_CLUSTER" in call for call in calls)


def test_run_script_with_workers_starts_the_scheduler_before_the_job_and_stops_it_after(
    tmp_path: Path,
) -> None:
    code, calls = _run_job(tmp_path, 0, dask_workers=2)

    runs = [c for c in calls if c.startswith("docker run")]
    assert code == 0
    assert "-m distributed.cli.dask_scheduler --host 10.0.0.5 --port 8786 --no-dashboard" in runs[0]
    assert "--detach" in runs[0] and "awslogs-stream=i-0abc/" in runs[0]
    assert runs[1].endswith(f"--env {constants.DASK_CLUSTER_ENV}=tcp://10.0.0.5:8786 {IMAGE}")
    assert calls.index(runs[1]) < calls.index("docker stop fraud-dask-scheduler")
    assert f"{remote.RESULT_PREFIX}0" in calls[-1]


def test_run_script_reports_a_scheduler_that_never_answers_without_running_the_job(tmp_path: Path) -> None:
    silent = FAKE_TOOL.replace('  "docker run")', '  "timeout 2") exit 1 ;;\n  "docker run")')

    code, calls = _run_job(tmp_path, 0, fake_tool=silent, dask_workers=2)

    assert code == 92
    assert [c for c in calls if c.startswith("docker run")] == [
        next(c for c in calls if "dask_scheduler" in c)
    ]
    assert len([c for c in calls if c.startswith("timeout")]) == 30  # a minute of tries, 2 s apart
    assert f"{remote.RESULT_PREFIX}92" in calls[-1]
