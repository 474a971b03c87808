"""Container entry point: `python -m training_job [options]`, configured by options or FRAUD_* variables."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from training_job.commands import add_train_arguments, run_train


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training_job", description="Train, report and publish a model."
    )
    add_train_arguments(parser)
    return run_train(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
