"""Training cost as data grows: `fraud train` end to end on generated CSV.gz files of growing size.

    .venv/bin/python benchmarks/train_scaling.py [--sizes 500000 1000000 2000000 6400000] [--cache DIR]

Each size is generated once (not timed) into --cache, then `fraud train --data FILE` runs in a fresh
subprocess; wall time and that process's peak RSS (os.wait4) are reported, with ratios to the first size.
Goal: 6.4 M rows within 10 minutes on 2 cores and under 4 GB peak RSS, growing linearly.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "fraud-train-scaling"


def data_file(rows: int, cache: Path) -> Path:
    """The generated file of `rows` rows, written once by a child process: generating 6.4 M rows here would
    leave this process large, and a forked child's peak RSS would count those pages."""
    path = cache / f"generated_{rows}.csv.gz"
    if not path.exists():
        print(f"generating {rows:,} rows into {path} ...", file=sys.stderr, flush=True)
        tmp = path.with_suffix(".tmp.gz")
        code = (
            "from training_job.generator import generate, write_csv; "
            f"write_csv(generate({rows}, seed=7), {str(tmp)!r})"
        )
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        tmp.rename(path)
    return path


# `fraud train`, optionally with the compiled forest walker hidden (as in an image built without a compiler).
_FRAUD = "import sys; from fraud_cli.main import main; raise SystemExit(main())"
_FRAUD_NUMPY_WALK = "import sys; sys.modules['fraud_model._forest'] = None; " + _FRAUD.split("; ", 1)[1]


def run_train(path: Path, store: Path, extra: list[str], *, numpy_walk: bool = False) -> dict[str, float]:
    """Wall seconds and peak RSS (MiB) of one `fraud train` process."""
    command = [
        sys.executable,
        "-c",
        _FRAUD_NUMPY_WALK if numpy_walk else _FRAUD,
        "train",
        "--data",
        str(path),
        "--store",
        str(store),
        "--no-progress",
        *extra,
    ]
    return measured(command, ROOT, path)


def measured(command: list[str], cwd: Path, path: Path) -> dict[str, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one `fraud train` process (`path`: what it trains on,
    named when it fails)."""
    with tempfile.TemporaryFile("w+") as log:  # a file, not a pipe: a full pipe would block the child
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            log.seek(0)
            raise SystemExit(f"fraud train failed on {path}:\n{log.read()}")
    return {"wall_s": wall, "peak_rss_mib": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500_000, 1_000_000, 2_000_000, 6_400_000])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where generated files are kept")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--numpy-walk", action="store_true", help="hide the compiled forest walker")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per size; the fastest counts (noisy hosts)"
    )
    parser.add_argument("extra", nargs="*", help="more `fraud train` options, after --")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    rows_out = []
    print(
        f"{'rows':>10}{'file MB':>9}{'wall s':>9}{'x':>7}{'peak RSS MiB':>14}{'x':>7}{'cpu s':>8}", flush=True
    )
    for size in args.sizes:
        path = data_file(size, args.cache)
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as store:
                runs.append(run_train(path, Path(store), args.extra, numpy_walk=args.numpy_walk))
        figures = min(runs, key=lambda run: run["wall_s"])
        base = rows_out[0] if rows_out else figures
        print(
            f"{size:>10,}{path.stat().st_size / 1e6:>9.1f}{figures['wall_s']:>9.1f}"
            f"{figures['wall_s'] / base['wall_s']:>7.2f}{figures['peak_rss_mib']:>14.0f}"
            f"{figures['peak_rss_mib'] / base['peak_rss_mib']:>7.2f}{figures['cpu_s']:>8.1f}",
            flush=True,
        )
        rows_out.append({"rows": size, **figures})
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows_out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
