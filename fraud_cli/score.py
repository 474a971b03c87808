"""`fraud score`: files of any size scored into part files (training_job.score), with a summary: in this
process (the default), on a Dask cluster (`--cluster`, training_job.score_cluster) or on the training instance
(`--remote`, training_job.score_remote)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from fraud_model import constants
from fraud_model.errors import InputError

QUARANTINED_EXIT = 3  # the run finished, but some rows could not be scored (see quarantine.csv.gz)


def add_parser(commands: Any, add_store: Callable[..., None]) -> None:
    score = commands.add_parser("score", help="score PaySim-schema files of any size into part files")
    add_store(score)
    sources = "CSV, CSV.gz or Parquet files, directories or s3:// prefixes; repeatable"
    score.add_argument("--data", action="append", required=True, metavar="URI", help=sources)
    score.add_argument("--out", required=True, metavar="URI", help="output directory or s3:// prefix")
    score.add_argument("--model", metavar="VERSION", help="model version (default: the current one)")
    score.add_argument("--id-column", help="an input column copied to every output row (e.g. a payment id)")
    score.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    score.add_argument(
        "--overwrite", action="store_true", help="score into an output that holds a finished run"
    )
    score.add_argument("--no-record", dest="record", action="store_false",
                       help="do not add the scored rows to the decision record")  # fmt: skip
    score.add_argument("--explain", action="store_true", help="add each row's top 3 reasons (TreeSHAP)")
    score.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    engine = score.add_argument_group("where it runs (default: in this process)")
    engine.add_argument("--cluster", metavar="ADDRESS",
                        help="a Dask scheduler, e.g. tcp://scheduler:8786: one partition per input file "
                             f"(env {constants.DASK_CLUSTER_ENV})")  # fmt: skip
    engine.add_argument("--remote", action="store_true",
                        help="on the EC2 training instance: s3:// inputs under the stack bucket's data/ or "
                             "score-input/, output under scores/")  # fmt: skip
    engine.add_argument("--instance-id", help="--remote: the training instance (default: the stack's)")
    engine.add_argument("--region", help="--remote: AWS region of the instance")
    engine.add_argument("--no-follow", action="store_true", help="--remote: start the job and return")
    score.set_defaults(run=_score)


def _score(args: argparse.Namespace) -> int:
    if args.remote:
        return _remote(args)
    address = args.cluster or os.environ.get(constants.DASK_CLUSTER_ENV) or None
    options: dict[str, Any] = {
        "store_uri": args.store, "model_version": args.model, "id_column": args.id_column,
        "out_format": args.format, "overwrite": args.overwrite, "progress": args.progress,
        "record": args.record, "explain": args.explain,
    }  # fmt: skip
    if address:
        from training_job.score_cluster import score_on_cluster

        summary = score_on_cluster(address, args.data, args.out, **options)
    else:
        from training_job.score import score_files

        summary = score_files(args.data, args.out, **options)
    print(summary.line())
    if summary.quarantined:
        from training_job.score import QUARANTINE_FILE

        print(f"{summary.quarantined:,} rows quarantined: {summary.out.rstrip('/')}/{QUARANTINE_FILE}",
              file=sys.stderr)  # fmt: skip
        return QUARANTINED_EXIT
    return 0


def _remote(args: argparse.Namespace) -> int:
    if args.cluster or args.store:
        raise InputError("--remote runs on the stack's instance and store: drop --cluster and --store")
    from pydantic import ValidationError

    from training_job.score_job import ScoreRequest
    from training_job.score_remote import run_remote_score

    try:
        request = ScoreRequest(data=args.data, out=args.out, model=args.model, id_column=args.id_column,
                               format=args.format, explain=args.explain,
                               overwrite=args.overwrite)  # fmt: skip
    except ValidationError as exc:
        raise InputError(f"invalid remote score: {exc.errors()[0]['msg']}") from exc
    return run_remote_score(request, instance_id=args.instance_id, region=args.region,
                            follow=not args.no_follow)  # fmt: skip
