"""`fraud train` and `fraud evaluate`: argparse wiring for fraud_cli and the container entry point.

Options override `FRAUD_*` environment variables; expected errors become one line on stderr and an exit code.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fraud_model import constants
from fraud_model.errors import FraudError, InputError, NotFoundError
from training_job.config import TrainSettings

# (field, type, help): each becomes --field-name and reads FRAUD_FIELD_NAME when the option is absent.
_TRAIN_OPTIONS: tuple[tuple[str, type, str], ...] = (
    ("generate_rows", int, "rows of generated demo data when no --data is given"),
    ("generate_fraud_rate", float, "fraud rate of the generated demo data"),
    ("generate_seed", int, "seed of the generated demo data"),
    ("max_bad_share", float, "largest share of unusable rows before the job fails"),
    ("outlier_policy", str, "keep (default: drop nothing) or iqr (drop training rows outside Tukey fences)"),
    ("train_share", float, "share of each source's rows, by step, for training"),
    ("validation_share", float, "share of each source's rows, by step, for validation (the rest: holdout)"),
    ("libraries", str, "comma-separated: xgboost, lightgbm"),
    ("class_weight", str, "scale_pos_weight: none, sqrt, balanced or a number"),
    ("max_rounds", int, "most boosting rounds"),
    ("early_stopping_rounds", int, "rounds without validation improvement before stopping"),
    ("learning_rate", float, "boosting learning rate"),
    ("max_depth", int, "tree depth (1-8)"),
    ("threads", int, "threads for training, 0 for every core"),
    ("batch_rows", int, "training rows per streamed batch (memory per batch, not the model)"),
    ("seed", int, "random seed of both libraries"),
    ("threshold_policy", str, "max_recall_at_precision, max_f1 or fixed"),
    ("target_precision", float, "precision the threshold must reach at the natural fraud rate"),
    ("fixed_threshold", float, "the threshold for --threshold-policy fixed"),
    ("recall_tolerance_se", float, "recall (standard errors) the policy gives up for a higher threshold"),
    ("natural_fraud_rate", float, "live traffic's fraud rate: thresholds and probabilities are set for it"),
    ("verify_rows", int, "holdout rows the forest export is verified on"),
    ("git_commit", str, "commit recorded in the metadata (else git rev-parse HEAD)"),
)


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `fraud train` (and of `python -m training_job`)."""
    parser.add_argument(
        "--data",
        action="append",
        metavar="URI",
        help="CSV, CSV.gz or Parquet file, directory or s3:// prefix; repeatable "
        f"(env {constants.DATA_ENV}, separated by commas); absent: generated demo data",
    )
    parser.add_argument("--store", metavar="URI", help=f"model store (env {constants.MODEL_STORE_ENV})")
    parser.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="train xgboost (alone) on the Dask cluster whose scheduler is at ADDRESS "
        f"(env {constants.DASK_CLUSTER_ENV}; default: in-process)",
    )
    defaults = TrainSettings.model_fields
    for name, kind, text in _TRAIN_OPTIONS:
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            type=kind,
            default=None,
            metavar={int: "N", float: "X"}.get(kind, "VALUE"),
            help=f"{text} (env {_env(name)}, default {_shown(defaults[name].default)})",
        )
    parser.add_argument(
        "--no-promote",
        dest="promote",
        action="store_const",
        const=False,
        help="publish without moving the current-version pointer (env FRAUD_PROMOTE=false)",
    )
    parser.add_argument(
        "--no-plots", dest="plots", action="store_const", const=False, help="skip the report's PNGs"
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_const", const=False, help="no progress bars on stderr"
    )
    remote = parser.add_argument_group("remote training (on the EC2 training instance)")
    remote.add_argument(
        "--remote", action="store_true", help="run the training container on the EC2 instance"
    )
    remote.add_argument("--instance-id", help="training instance (default: the stack's)")
    remote.add_argument("--region", help="AWS region of the instance")
    remote.add_argument("--no-follow", action="store_true", help="start the remote job and return")


def settings_from_args(args: argparse.Namespace) -> TrainSettings:
    """TrainSettings from the environment, with every option given on the command line taking precedence."""
    overrides: dict[str, Any] = {
        name: getattr(args, name) for name, _, _ in _TRAIN_OPTIONS if getattr(args, name, None) is not None
    }
    for name in ("data", "promote", "plots", "progress"):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    if getattr(args, "store", None):
        overrides["model_store"] = args.store
    if getattr(args, "cluster", None):
        overrides["dask_cluster"] = args.cluster
    if "data" in overrides:
        overrides["data"] = [uri for value in overrides["data"] for uri in value.replace(",", " ").split()]
    return TrainSettings(**overrides)


def run_train(args: argparse.Namespace) -> int:
    """`fraud train`: train, report and publish here, or (--remote) on the training instance."""
    _configure_logging()
    if getattr(args, "remote", False):
        if getattr(args, "cluster", None):
            return _fail("--remote trains on the stack's instance and its workers: drop --cluster", 2)
        return _guarded(lambda: _remote(args))
    return _guarded(lambda: _train(args))


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `fraud evaluate`."""
    parser.add_argument("--store", metavar="URI", help=f"model store (env {constants.MODEL_STORE_ENV})")
    parser.add_argument("--version", help="model version (default: the current one)")
    parser.add_argument(
        "--data",
        action="append",
        metavar="URI",
        required=True,
        help="PaySim-schema CSV, CSV.gz or Parquet file, directory or s3:// prefix; repeatable",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--stress",
        action="store_true",
        help="add the evasion stress test: the frauds changed as their author could (docs/training.md)",
    )
    parser.add_argument(
        "--natural-fraud-rate",
        type=float,
        help="fraud rate for the natural-rate figures (default: the model's)",
    )
    parser.add_argument("--quarantine-out", metavar="PATH", help="write unusable rows to this .csv.gz")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")


def run_evaluate(args: argparse.Namespace) -> int:
    """`fraud evaluate`: score files with a published model through the Scorer and print the figures."""
    _configure_logging()
    return _guarded(lambda: _evaluate(args))


def _train(args: argparse.Namespace) -> int:
    from training_job import pipeline, report  # lazy: `fraud --help` need not import the boosters

    outcome = pipeline.run(settings_from_args(args))
    promoted = "current" if outcome.promoted else "published, not promoted (--no-promote)"
    print(f"model version {outcome.version} ({promoted}) in {outcome.store_uri}")
    for line in report.summary_lines(outcome.results):
        print(line)
    print(f"report: {outcome.store_uri}/{outcome.report_prefix}/report.md")
    return 0


def _remote(args: argparse.Namespace) -> int:
    try:
        from training_job.remote import run_remote_training
    except ImportError as exc:
        raise FraudError(f"remote training is not available in this installation: {exc}") from exc
    return int(
        run_remote_training(instance_id=args.instance_id, region=args.region, follow=not args.no_follow)
    )


def _evaluate(args: argparse.Namespace) -> int:
    from training_job.evaluate import evaluate_files, render_table

    result = evaluate_files(
        args.data,
        store_uri=args.store,
        version=args.version,
        natural_rate=args.natural_fraud_rate,
        progress=getattr(args, "progress", True),
        quarantine_out=Path(args.quarantine_out) if args.quarantine_out else None,
        stress=getattr(args, "stress", False),
    )
    print(json.dumps(result, indent=2, allow_nan=False) if args.json else render_table(result))
    return 0


def _guarded(work: Callable[[], int]) -> int:
    try:
        return work()
    except NotFoundError as exc:
        return _fail(f"{exc} (nothing published yet? run `fraud train` first)", exc.exit_code)
    except FraudError as exc:
        return _fail(str(exc), exc.exit_code)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        return _fail(f"invalid configuration: {problems}", InputError.exit_code)


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )


def _shown(default: Any) -> str:
    return ",".join(default) if isinstance(default, list) else "none" if default is None else str(default)


def _env(name: str) -> str:
    return f"{constants.ENV_PREFIX}{name.upper()}"
