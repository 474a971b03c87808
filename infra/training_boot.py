"""The training instance's user data: the first boot installs a systemd unit that runs the job on later boots.

The first boot (the deploy) only provisions and powers off; each `fraud train --remote` (or `fraud score
--remote`) starts the instance, and the unit pulls and runs the training image with its output in CloudWatch
Logs, logs the exit code, powers off. The image itself decides to score when a request waits (score_job.py).
"""

from __future__ import annotations

from fraud_model import constants
from infra import cluster_boot
from training_job import remote

UNIT_NAME = "fraud-training.service"
RUN_SCRIPT_PATH = "/usr/local/bin/fraud-training-run"
CONFIG_DIR = "/etc/fraud-training"
UNIT_ENV_PATH = f"{CONFIG_DIR}/unit.env"  # what the run script needs
JOB_ENV_PATH = f"{CONFIG_DIR}/job.env"  # the job's settings (training_job.config.TrainSettings)
DISABLED_FLAG_PATH = f"{CONFIG_DIR}/disabled"

# `@...@` placeholders are replaced below; everything else is literal bash (no f-string: bash uses braces).
_RUN_SCRIPT = r"""#!/bin/bash
# One training run: log in to ECR, pull the image, run the job with its output in the run's log stream, then
# record the job's exit code in that stream (remote.py reads it). The unit powers the instance off afterwards.
set -uo pipefail
imds() {
  local token
  token=$(curl -sf -X PUT http://169.254.169.254/latest/api/token \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')
  curl -sf -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}
STREAM="$(imds instance-id)/$(date -u +%Y%m%dT%H%M%SZ)"
note() {
  aws logs put-log-events --region "$AWS_REGION" \
    --log-group-name "$FRAUD_LOG_GROUP" --log-stream-name "$STREAM" \
    --log-events "[{\"timestamp\": $(date +%s%3N), \"message\": \"$1\"}]" > /dev/null
}
run_job() {
  aws ecr get-login-password --region "$AWS_REGION" \
    | docker login --username AWS --password-stdin "${FRAUD_IMAGE%%/*}" || return 90
  docker pull --quiet "$FRAUD_IMAGE" || return 91@SCHEDULER@
  # Host networking: the job gets its role credentials from IMDSv2, whose hop limit of 1 stops at a bridge.
  docker run --rm --network host \
    --log-driver awslogs --log-opt awslogs-region="$AWS_REGION" \
    --log-opt awslogs-group="$FRAUD_LOG_GROUP" --log-opt awslogs-stream="$STREAM" \
    --env-file @JOB_ENV@@CLUSTER_ENV@ "$FRAUD_IMAGE"
}
aws logs create-log-stream --region "$AWS_REGION" \
  --log-group-name "$FRAUD_LOG_GROUP" --log-stream-name "$STREAM"
note "fraud-training-run: starting $FRAUD_IMAGE"
run_job
rc=$?
@STOP_SCHEDULER@note "@RESULT_PREFIX@$rc"
exit "$rc"
"""

_UNIT = """[Unit]
Description=@DESCRIPTION@
Wants=network-online.target
After=network-online.target docker.service
Requires=docker.service
# Maintenance switch: with this file present a start neither trains nor powers off (create it over SSM).
ConditionPathExists=!@DISABLED@

[Service]
Type=oneshot
EnvironmentFile=@UNIT_ENV@
ExecStart=@RUN_SCRIPT@
# Stop the instance whatever happened: success, failure, or the time limit below.
ExecStopPost=/usr/bin/systemctl --no-block poweroff
TimeoutStartSec=@TIMEOUT@min

[Install]
WantedBy=multi-user.target
"""


def provisioning(
    *,
    description: str,
    unit_name: str,
    config_dir: str,
    unit_env: tuple[str, dict[str, str]],
    run_script: tuple[str, str],
    timeout_minutes: int,
    disabled_flag: str,
    other_files: dict[str, str] | None = None,
) -> list[str]:
    """First-boot commands of an instance that runs the training image on each later boot: docker, a config
    directory (`unit_env` and `other_files` written there), the run script, and a oneshot unit (enabled, not
    started) that runs it and powers the instance off whatever happens."""
    unit_env_path, variables = unit_env
    script_path, script = run_script
    unit = (
        _UNIT.replace("@DESCRIPTION@", description)
        .replace("@UNIT_ENV@", unit_env_path)
        .replace("@RUN_SCRIPT@", script_path)
        .replace("@TIMEOUT@", str(timeout_minutes))
        .replace("@DISABLED@", disabled_flag)
    )
    return [
        "set -euxo pipefail",
        # Power off however provisioning ends: a failed first boot must not keep a paid instance running.
        "trap 'systemctl --no-block poweroff' EXIT",
        "dnf install -y docker",
        "systemctl enable --now docker",
        f"mkdir -p {config_dir}",
        write_file(unit_env_path, env_file(variables)),
        *(write_file(path, content) for path, content in (other_files or {}).items()),
        write_file(script_path, script),
        f"chmod 0755 {script_path}",
        write_file(f"/etc/systemd/system/{unit_name}", unit),
        "systemctl daemon-reload",
        # Enabled, not started: the unit runs from the next boot on, i.e. on each `fraud train --remote`.
        f"systemctl enable {unit_name}",
    ]


def boot_commands(
    *,
    image_uri: str,
    region: str,
    store_uri: str,
    data_uri: str,
    score_job_uri: str,
    timeout_minutes: int,
    instance_type: str,
    log_group: str,
    dask_workers: int = 0,
) -> list[str]:
    """Bash commands for cloud-init (first boot only); the arguments may be CDK tokens.

    With `dask_workers`, each run starts a Dask scheduler before the job and hands the job its address.
    """
    unit_env = {
        "FRAUD_IMAGE": image_uri,
        "FRAUD_LOG_GROUP": log_group,
        "AWS_REGION": region,
        # Read by nothing: recording it here makes a new instance type replace the instance (a fresh,
        # provisioning-only first boot) instead of CloudFormation's stop-modify-start, which would run a job.
        "INSTANCE_TYPE": instance_type,
    }
    job_env = {
        constants.DATA_ENV: data_uri,
        constants.MODEL_STORE_ENV: store_uri,
        constants.SCORE_JOB_ENV: score_job_uri,  # a `fraud score --remote` request, when one waits there
        "FRAUD_PROGRESS": "false",  # progress bars are noise in CloudWatch Logs
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
    run_script = _RUN_SCRIPT.replace("@RESULT_PREFIX@", remote.RESULT_PREFIX).replace(
        "@JOB_ENV@", JOB_ENV_PATH
    )
    run_script = cluster_boot.with_scheduler(run_script, enabled=dask_workers > 0)
    return provisioning(
        description="Fraud-detection training job: runs on every boot, then powers the instance off",
        unit_name=UNIT_NAME,
        config_dir=CONFIG_DIR,
        unit_env=(UNIT_ENV_PATH, unit_env),
        run_script=(RUN_SCRIPT_PATH, run_script),
        timeout_minutes=timeout_minutes,
        disabled_flag=DISABLED_FLAG_PATH,
        other_files={JOB_ENV_PATH: env_file(job_env)},
    )


def env_file(variables: dict[str, str]) -> str:
    return "".join(f"{name}={value}\n" for name, value in variables.items())


def write_file(path: str, content: str) -> str:
    # A quoted heredoc: bash expands nothing inside, so the file is written exactly as given.
    return f"cat > {path} <<'FRAUD_EOF'\n{content.rstrip()}\nFRAUD_EOF"
