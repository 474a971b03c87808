"""Issue 13: `fraud score` on a generated Parquet file against the obvious way, in one run; and its peak
memory as the input grows.

Baseline: read the whole file with pyarrow, compute the full feature set with numpy, XGBoost
`inplace_predict` (the same 300-tree benchmark model, all cores), write probabilities and decisions with
pyarrow. Ours: `training_job.score.score_files` (validation, routing, the decision policy, quarantine, part
files). Goals: rows/s ≥ 1.5 × the baseline's; peak RSS from 1M to 20M rows grows ≤ 1.3× (`--memory`, each
size in a fresh process).

    .venv/bin/python benchmarks/score_batch.py [--rows 5000000] [--memory]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import serve_common as common

GOAL_SPEED, GOAL_MEMORY = 1.5, 1.3


def data_file(rows: int) -> Path:
    """A generated PaySim-schema Parquet file of `rows` rows (kept in benchmarks/results/)."""
    from fraud_model.schema import TRANSACTION_TYPES

    path = common.ROOT / "benchmarks" / "results" / f"score_{rows}.parquet"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    for start in range(0, rows, 1_000_000):
        n = min(1_000_000, rows - start)
        columns = common.training_columns(n, seed=start // 1_000_000)
        table = pa.table({**{k: v for k, v in columns.items() if k != "type"},
                          "type": np.array(TRANSACTION_TYPES)[columns["type"]]})  # fmt: skip
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    return path


def baseline(path: Path, out: Path) -> float:
    from fraud_model.features import FULL
    from fraud_model.schema import TYPE_CODES

    booster = common.native_booster(common.model_store())
    booster.set_param({"nthread": 0})
    started = time.perf_counter()
    table = pq.read_table(path)
    columns = {name: table[name].to_numpy() for name in FULL.inputs if name != "type"}
    columns["type"] = np.array([TYPE_CODES[t] for t in table["type"].to_pylist()], dtype=np.int8)
    probability = booster.inplace_predict(FULL.compute(columns))
    pq.write_table(pa.table({"fraud_probability": probability, "is_fraud": probability >= 0.5}), out)
    return table.num_rows / (time.perf_counter() - started)


def ours(path: Path, out: Path) -> float:
    from training_job.score import score_files

    summary = score_files(
        [str(path)], str(out), store_uri=common.model_store().uri, record=False, overwrite=True
    )
    return summary.rows_per_second


def peak_rss(rows: int) -> float:
    """Peak RSS (MiB) of `fraud score` on `rows` rows, in a fresh process started by a small one (a child
    forked from this big process would count this process's pages until it execs)."""
    path = data_file(rows)
    with tempfile.TemporaryDirectory() as out:
        fraud = str(Path(sys.executable).parent / "fraud")
        command = [fraud, "score", "--data", str(path), "--out", out, "--store", common.model_store().uri,
                   "--no-record", "--no-progress"]  # fmt: skip
        launcher = (
            "import resource, subprocess, sys; "
            "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
        )
        done = subprocess.run(
            [sys.executable, "-c", launcher, *command], check=True, capture_output=True, text=True
        )
    return int(done.stdout.strip()) / 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--memory", action="store_true", help="also peak RSS at 1M and 20M rows")
    args = parser.parse_args()
    path = data_file(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        base = [baseline(path, Path(tmp) / f"b{i}.parquet") for i in range(3)]
        mine = [ours(path, Path(tmp) / f"o{i}") for i in range(3)]
    ratio = float(np.median(mine) / np.median(base))
    result = {"rows": args.rows, "baseline_rows_per_s": float(np.median(base)),
              "ours_rows_per_s": float(np.median(mine)), "ratio": ratio}  # fmt: skip
    met = ratio >= GOAL_SPEED
    if args.memory:
        small, large = peak_rss(1_000_000), peak_rss(20_000_000)
        result.update(peak_rss_1m_mib=small, peak_rss_20m_mib=large, memory_ratio=large / small)
        met &= large / small <= GOAL_MEMORY
    print(json.dumps(result, indent=2))
    print(f"rows/s ratio {ratio:.2f} (goal ≥ {GOAL_SPEED}) {'MET' if met else 'NOT MET'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
