"""A worker instance's user data: as the training instance's, the first boot installs a unit and powers off.

Each later boot (`fraud train --remote` / `fraud score --remote` start the workers with the training instance)
pulls the training image and runs `dask worker` against the training instance's scheduler. The worker exits
once the scheduler has gone (the run ended) or has not come within the death timeout; the unit then powers the
instance off, and the instance stops (its shutdown behaviour).
"""

from __future__ import annotations

from infra import cluster_boot
from infra.training_boot import provisioning

UNIT_NAME = "fraud-dask-worker.service"
RUN_SCRIPT_PATH = "/usr/local/bin/fraud-dask-worker-run"
CONFIG_DIR = "/etc/fraud-dask-worker"
UNIT_ENV_PATH = f"{CONFIG_DIR}/unit.env"
DISABLED_FLAG_PATH = f"{CONFIG_DIR}/disabled"

_RUN_SCRIPT = r"""#!/bin/bash
# One run of this worker: log in to ECR, pull the training image, run `dask worker` until the scheduler
# has gone. Its output goes to the training log group, in this instance's streams (the CLI follows none).
set -uo pipefail
imds() {
  local token
  token=$(curl -sf -X PUT http://169.254.169.254/latest/api/token \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')
  curl -sf -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}
STREAM="$(imds instance-id)/$(date -u +%Y%m%dT%H%M%SZ)/dask-worker"
aws ecr get-login-password --region "$AWS_REGION" \
  | docker login --username AWS --password-stdin "${FRAUD_IMAGE%%/*}" || exit 90
docker pull --quiet "$FRAUD_IMAGE" || exit 91
# Host networking: the scheduler and the other workers reach this worker on the instance's own address.
# The region: tasks read S3 with boto3, which would otherwise take the global endpoint (no route: no NAT).
exec docker run --rm --network host --env AWS_DEFAULT_REGION="$AWS_REGION" \
  --log-driver awslogs --log-opt awslogs-region="$AWS_REGION" \
  --log-opt awslogs-group="$FRAUD_LOG_GROUP" --log-opt awslogs-stream="$STREAM" \
  --entrypoint python "$FRAUD_IMAGE" -m distributed.cli.dask_worker "$FRAUD_DASK_SCHEDULER" \
  --death-timeout @DEATH_TIMEOUT@ --worker-port @WORKER_PORT@ --nanny-port @NANNY_PORT@ --nworkers 1 \
  --no-dashboard
"""


def scheduler_address(host: str) -> str:
    """`tcp://<host>:8786`: what the workers are given (`host` may be a CDK token)."""
    return f"tcp://{host}:{cluster_boot.SCHEDULER_PORT}"


def boot_commands(
    *,
    image_uri: str,
    region: str,
    scheduler_host: str,
    timeout_minutes: int,
    instance_type: str,
    log_group: str,
) -> list[str]:
    """Bash commands for cloud-init (first boot only); the arguments may be CDK tokens."""
    unit_env = {
        "FRAUD_IMAGE": image_uri,
        "FRAUD_LOG_GROUP": log_group,
        "FRAUD_DASK_SCHEDULER": scheduler_address(scheduler_host),
        "AWS_REGION": region,
        # Read by nothing: a new type replaces the instance (as in training_boot.py).
        "INSTANCE_TYPE": instance_type,
    }
    run_script = (
        _RUN_SCRIPT.replace("@DEATH_TIMEOUT@", str(cluster_boot.DEATH_TIMEOUT_SECONDS))
        .replace("@WORKER_PORT@", str(cluster_boot.WORKER_PORT))
        .replace("@NANNY_PORT@", str(cluster_boot.NANNY_PORT))
    )
    return provisioning(
        description="Fraud-detection Dask worker: joins the training scheduler on every boot, then powers "
        "off",
        unit_name=UNIT_NAME,
        config_dir=CONFIG_DIR,
        unit_env=(UNIT_ENV_PATH, unit_env),
        run_script=(RUN_SCRIPT_PATH, run_script),
        timeout_minutes=timeout_minutes,
        disabled_flag=DISABLED_FLAG_PATH,
    )
