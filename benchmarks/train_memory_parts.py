"""Training memory per component: bytes a row each step adds to peak RSS, from the slope between two sizes.

    .venv/bin/python benchmarks/train_memory_parts.py [--rows 2000000 8000000] [--cache DIR] [--rounds 20]

The files are train_memory.py's (generated Parquet, cached). Each stage runs in a fresh process on each size
and reports its peak RSS (os.wait4); the cost a row of a stage is (peak at the larger size - peak at the
smaller) / (rows difference), and the difference between two stages is what the later one adds:

- `split`: pass 1 and pass 2 of the streamed pipeline (prepare.load, prepare.split): the summary columns,
  then validation and holdout held in memory, the training labels;
- `features`: `split` plus the validation feature matrix of `full` (what a feature set's training holds);
- `xgboost`: `features` plus XGBoost on `full` from the in-memory `QuantileDMatrix` (the pipeline's path);
- `xgboost_extmem`: the same from `ExtMemQuantileDMatrix` (pages cached on local disk);
- `lightgbm`: `features` plus LightGBM on `full` from the `Sequence` (the pipeline's path).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from train_memory import DEFAULT_CACHE, data_file
from train_scaling import measured

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("split", "features", "xgboost", "xgboost_extmem", "lightgbm")
_STAGE = """
import sys, tempfile
from pathlib import Path
from fraud_model.features import FEATURE_SETS
from training_job import prepare
from training_job.config import TrainSettings
from training_job.train import BoostParams, Matrix, train
stage, data, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
settings = TrainSettings(data=[data], progress=False, plots=False, git_commit="-")
with tempfile.TemporaryDirectory() as scratch:
    splits = prepare.split(prepare.load(settings, Path(scratch)), settings, {}, Path(scratch))
    if stage == "split":
        raise SystemExit(0)
    feature_set = FEATURE_SETS["full"]
    valid = Matrix(feature_set.compute(splits.validation.columns), splits.validation.labels)
    if stage == "features":
        raise SystemExit(0)
    params = BoostParams(max_rounds=rounds, early_stopping_rounds=rounds + 1)
    train_set = prepare.train_data(splits.train, feature_set)
    if stage == "xgboost_extmem":
        import xgboost as xgb
        from training_job.feed import Streamed

        class Pages(xgb.DataIter):
            def __init__(self, data, prefix):
                super().__init__(cache_prefix=prefix, release_data=True)
                self._data, self._batches = data, None

            def next(self, input_data):
                self._batches = self._batches or self._data.feature_batches()
                batch = next(self._batches, None)
                if batch is not None:
                    input_data(data=batch[0], label=batch[1], weight=batch[2])
                return batch is not None

            def reset(self):
                self._batches = None

        Streamed.xgboost_matrix = lambda self, nthread: xgb.ExtMemQuantileDMatrix(
            Pages(self, str(Path(scratch) / "pages")), nthread=nthread
        )
    library = "lightgbm" if stage == "lightgbm" else "xgboost"
    trained = train(library, list(feature_set.features), train_set, valid, params)
    print(trained.native.__len__(), file=sys.stderr)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs=2, default=[2_000_000, 8_000_000])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    files = [data_file(rows, args.cache) for rows in args.rows]
    small, large = args.rows
    print(
        f"| stage | peak RSS {small:,} rows | peak RSS {large:,} rows | bytes a row (slope) | wall (larger) |"
    )
    print("|---|---|---|---|---|")
    results = []
    for stage in args.stages:
        runs = [
            measured([sys.executable, "-c", _STAGE, stage, str(path), str(args.rounds)], ROOT, path)
            for path in files
        ]
        peaks = [run["peak_rss_mib"] for run in runs]
        slope = (peaks[1] - peaks[0]) * 2**20 / (large - small)
        wall = runs[1]["wall_s"]
        print(
            f"| {stage} | {peaks[0]:,.0f} MiB | {peaks[1]:,.0f} MiB | {slope:.1f} | {wall:.1f} s |",
            flush=True,
        )
        results.append({"stage": stage, "runs": runs, "bytes_per_row": slope})
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
