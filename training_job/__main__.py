"""Container entry point: `python -m training_job [options]`, configured by options or FRAUD_* variables.

On the training instance `FRAUD_SCORE_JOB` names where a `fraud score --remote` request may wait: when one
does, this run scores it instead of training (training_job.score_job).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from fraud_model import constants
from training_job.commands import add_train_arguments, run_train


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training_job", description="Train, report and publish a model."
    )
    add_train_arguments(parser)
    args = parser.parse_args(argv)
    job_uri = os.environ.get(constants.SCORE_JOB_ENV)
    if job_uri:
        from training_job.score_job import run_pending

        code = run_pending(job_uri, args.store)
        if code is not None:
            return code
    return run_train(args)


if __name__ == "__main__":
    raise SystemExit(main())
