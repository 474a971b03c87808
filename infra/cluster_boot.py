"""The Dask cluster's ports, and the scheduler the training run script starts when trainingWorkers > 0.

The training security group opens these ports to itself only (infra/training_workers.py); the worker
instances' scripts are in infra/worker_boot.py.
"""

from __future__ import annotations

from fraud_model import constants

SCHEDULER_PORT = 8786  # `dask scheduler`; its dashboard (8787) is not started
WORKER_PORT = 8788  # `dask worker --worker-port`: one worker process per instance
NANNY_PORT = 8789  # `dask worker --nanny-port`
# XGBoost's collective (xgboost.dask): its tracker (in the scheduler process) and each worker listen on ports
# the kernel picks, with no option to fix them: Linux's ephemeral range (net.ipv4.ip_local_port_range).
XGBOOST_PORTS = (32768, 60999)
# `dask worker --death-timeout`: how long a worker waits for the scheduler at start (the training instance
# boots and pulls the image meanwhile); once connected, a worker exits within seconds of losing it.
DEATH_TIMEOUT_SECONDS = 600
SCHEDULER_CONTAINER = "fraud-dask-scheduler"

_SCHEDULER = r"""
  # The run's Dask scheduler (trainingWorkers), in the same image, on the private address the workers
  # were given; no dashboard. The job is its client: FRAUD_DASK_CLUSTER below.
  SCHEDULER_HOST=$(imds local-ipv4) || return 92
  docker rm --force @CONTAINER@ > /dev/null 2>&1
  docker run --detach --rm --name @CONTAINER@ --network host \
    --log-driver awslogs --log-opt awslogs-region="$AWS_REGION" \
    --log-opt awslogs-group="$FRAUD_LOG_GROUP" --log-opt awslogs-stream="$STREAM/dask-scheduler" \
    --entrypoint python "$FRAUD_IMAGE" -m distributed.cli.dask_scheduler \
    --host "$SCHEDULER_HOST" --port @PORT@ --no-dashboard > /dev/null || return 92
  # Wait (up to a minute) until it accepts connections: the job connects once, with a short timeout.
  local up=1
  for _ in $(seq 30); do
    timeout 2 bash -c "exec 3<> /dev/tcp/$SCHEDULER_HOST/@PORT@" 2> /dev/null && { up=0; break; }
    sleep 2
  done
  [ "$up" = 0 ] || return 92"""
_CLUSTER_ENV = ' \\\n    --env @ENV@="tcp://$SCHEDULER_HOST:@PORT@"'
# Stopping the scheduler ends the run for the workers: each exits, and its unit powers its instance off.
_STOP_SCHEDULER = "docker stop @CONTAINER@ > /dev/null 2>&1\n"


def with_scheduler(run_script: str, *, enabled: bool) -> str:
    """The training run script with the scheduler started before the job (and stopped after it), or, when not
    `enabled`, exactly the single-instance script."""
    if not enabled:
        return (
            run_script.replace("@SCHEDULER@", "").replace("@CLUSTER_ENV@", "").replace("@STOP_SCHEDULER@", "")
        )
    return (
        run_script.replace("@SCHEDULER@", _SCHEDULER)
        .replace("@CLUSTER_ENV@", _CLUSTER_ENV)
        .replace("@STOP_SCHEDULER@", _STOP_SCHEDULER)
        .replace("@CONTAINER@", SCHEDULER_CONTAINER)
        .replace("@ENV@", constants.DASK_CLUSTER_ENV)
        .replace("@PORT@", str(SCHEDULER_PORT))
    )
