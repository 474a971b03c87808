"""Training memory and time as rows grow: `fraud train` on generated Parquet files of 2 M, 8 M and 32 M rows.

    .venv/bin/python benchmarks/train_memory.py [--rows 2000000 8000000 32000000] [--cache DIR] [--root DIR]

Each size is generated once (not timed) into --cache by a child process, in 1 M-row row groups, each chunk
from its own seed, so generating never holds the whole file. Then `fraud train --data FILE` runs in a fresh
subprocess with a fixed number of boosting rounds (early stopping off: every size does the same work per row)
and no plots; its wall time and peak RSS (os.wait4: the child's own maximum resident set) are reported with
ratios to the previous size. Goal (issue 14): peak RSS from 8 M to 32 M rows grows at most 1.5x, time at most
linearly. `--root` runs another checkout's code (for example main's) on the same files.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from train_scaling import measured

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "fraud-train-memory"
CHUNK_ROWS = 1_000_000
_GENERATE = """
import sys
import pyarrow as pa, pyarrow.parquet as pq
from training_job.generator import generate
rows, path = int(sys.argv[1]), sys.argv[2]
writer = None
for index, start in enumerate(range(0, rows, {chunk})):
    columns = generate(min({chunk}, rows - start), seed=1000 + index)
    table = pa.table(columns)
    writer = writer or pq.ParquetWriter(path, table.schema)
    writer.write_table(table)
writer.close()
"""
_FRAUD = "from fraud_cli.main import main; raise SystemExit(main())"


def data_file(rows: int, cache: Path) -> Path:
    """The generated Parquet file of `rows` rows, written once."""
    path = cache / f"generated_{rows}.parquet"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        print(f"generating {rows:,} rows into {path} ...", file=sys.stderr, flush=True)
        tmp = path.with_suffix(".tmp")
        code = _GENERATE.format(chunk=CHUNK_ROWS)
        subprocess.run([sys.executable, "-c", code, str(rows), str(tmp)], cwd=ROOT, check=True)
        tmp.rename(path)
    return path


def run_train(path: Path, rounds: int, root: Path, extra: list[str]) -> dict[str, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one `fraud train` process."""
    with tempfile.TemporaryDirectory(prefix="fraud-train-memory-store-") as store:
        command = [sys.executable, "-c", _FRAUD, "train", "--data", str(path), "--store", store]
        command += ["--no-progress", "--no-plots", "--max-rounds", str(rounds)]
        command += ["--early-stopping-rounds", str(rounds + 1), *extra]
        return measured(command, root, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2_000_000, 8_000_000, 32_000_000])
    parser.add_argument("--rounds", type=int, default=40, help="boosting rounds of every model (fixed)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where generated files are kept")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose code trains (default: this)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("extra", nargs="*", help="more `fraud train` options, after --")
    args = parser.parse_args()
    if any(rows < 10_000 for rows in args.rows):
        parser.error("--rows: every size needs at least 10,000 rows")
    files = {rows: data_file(rows, args.cache) for rows in args.rows}
    print("| rows | Parquet | wall | x previous | CPU | peak RSS | x previous |")
    print("|---|---|---|---|---|---|---|")
    results, previous = [], None
    for rows, path in files.items():
        figures = {
            "rows": rows,
            "bytes": path.stat().st_size,
            **run_train(path, args.rounds, args.root, args.extra),
        }
        wall_ratio = f"{figures['wall_s'] / previous['wall_s']:.2f}" if previous else ""
        rss_ratio = f"{figures['peak_rss_mib'] / previous['peak_rss_mib']:.2f}" if previous else ""
        print(
            f"| {rows:,} | {figures['bytes'] / 2**20:,.0f} MiB | {figures['wall_s']:.1f} s | {wall_ratio} "
            f"| {figures['cpu_s']:.1f} s | {figures['peak_rss_mib']:,.0f} MiB | {rss_ratio} |",
            flush=True,
        )
        results.append(figures)
        previous = figures
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
