"""A worker instance's scripts, run by bash with fake `aws`, `docker` and `curl` on the PATH."""

from __future__ import annotations

import subprocess
from pathlib import Path

from infra import worker_boot
from tests.infra.test_training_boot import FAKE_TOOL, IMAGE
from training_job import remote

LOG_GROUP = remote.log_group_name("FraudTest")


def _commands() -> list[str]:
    return worker_boot.boot_commands(
        image_uri=IMAGE,
        region="eu-west-1",
        scheduler_host="10.0.0.5",
        timeout_minutes=42,
        instance_type="m7i.xlarge",
        log_group=LOG_GROUP,
    )


def _heredoc(path: str) -> str:
    for command in _commands():
        if command.startswith(f"cat > {path} <<"):
            return command.split("\n", 1)[1].rsplit("\n", 1)[0]
    raise AssertionError(f"user data does not write {path}")


def _run_worker(tmp_path: Path, fake_tool: str = FAKE_TOOL) -> tuple[int, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("aws", "docker", "curl"):
        (bin_dir / tool).write_text(fake_tool)
        (bin_dir / tool).chmod(0o755)
    script = tmp_path / "run"
    script.write_text(_heredoc(worker_boot.RUN_SCRIPT_PATH))
    env = dict(line.split("=", 1) for line in _heredoc(worker_boot.UNIT_ENV_PATH).splitlines())
    calls = tmp_path / "calls"
    env |= {"PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(calls), "JOB_EXIT": "0"}
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=30)
    return result.returncode, calls.read_text().splitlines()


def test_worker_boot_commands_are_valid_bash(tmp_path: Path) -> None:
    for name, text in (("user-data", "\n".join(_commands())), ("run", _heredoc(worker_boot.RUN_SCRIPT_PATH))):
        (tmp_path / name).write_text(text)
        subprocess.run(["bash", "-n", str(tmp_path / name)], check=True)


def test_worker_unit_runs_on_every_boot_and_powers_off() -> None:
    unit = _heredoc(f"/etc/systemd/system/{worker_boot.UNIT_NAME}")

    assert f"systemctl enable {worker_boot.UNIT_NAME}" in _commands()
    assert "WantedBy=multi-user.target" in unit
    assert "ExecStopPost=/usr/bin/systemctl --no-block poweroff" in unit
    assert "TimeoutStartSec=42min" in unit


def test_worker_run_script_joins_the_scheduler_with_fixed_ports_and_a_death_timeout(tmp_path: Path) -> None:
    code, calls = _run_worker(tmp_path)

    (run,) = [c for c in calls if c.startswith("docker run")]
    assert code == 0
    assert f"--entrypoint python {IMAGE} -m distributed.cli.dask_worker tcp://10.0.0.5:8786" in run
    assert run.endswith(
        "--death-timeout 600 --worker-port 8788 --nanny-port 8789 --nworkers 1 --no-dashboard"
    )
    assert "--network host" in run and f"awslogs-group={LOG_GROUP}" in run
    assert (
        "awslogs-stream=i-0abc/" in run
    )  # the worker's own stream, which `fraud train --remote` does not follow


def test_worker_run_script_stops_before_dask_when_the_pull_fails(tmp_path: Path) -> None:
    failing_pull = FAKE_TOOL.replace('  "docker run")', '  "docker pull") exit 1 ;;\n  "docker run")')

    code, calls = _run_worker(tmp_path, failing_pull)

    assert code == 91
    assert not any(c.startswith("docker run") for c in calls)
