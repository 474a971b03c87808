"""`fraud score`: files of any size scored into part files (training_job.score), with a summary."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

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
    score.set_defaults(run=_score)


def _score(args: argparse.Namespace) -> int:
    from training_job.score import QUARANTINE_FILE, score_files

    summary = score_files(args.data, args.out, store_uri=args.store, model_version=args.model,
                          id_column=args.id_column, out_format=args.format, overwrite=args.overwrite,
                          progress=args.progress, record=args.record,
                          explain=args.explain)  # fmt: skip
    print(summary.line())
    if summary.quarantined:
        print(f"{summary.quarantined:,} rows quarantined: {summary.out.rstrip('/')}/{QUARANTINE_FILE}",
              file=sys.stderr)  # fmt: skip
        return QUARANTINED_EXIT
    return 0
