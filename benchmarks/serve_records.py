"""Issue 12: what recording every decision costs through the Lambda handler, against recording nothing.

The 300-tree benchmark model, the default policy, transactions with account names hashed with a key. Three
ways, in one run: `off`; `store` (`fraud serve`'s: Parquet parts written by a background thread; its time is
counted, because every round ends with a flush); `log` (Lambda's: a JSON line a request, written during the
call). Goals: `/predict` p50 at most 1.10 x `off`; `/predict/batch` of 1,000 at least 0.90 x its rows/s.

    .venv/bin/python benchmarks/serve_records.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import serve_common as common

ROWS = 1000
SINGLE_GOAL, BATCH_GOAL = 1.10, 0.90


def main() -> int:
    store = common.model_store()
    root = tempfile.mkdtemp(prefix="serve_records_")
    shutil.copytree(store.root, root, dirs_exist_ok=True)
    os.environ.update(FRAUD_MODEL_STORE=root, FRAUD_RECORD_NAME_KEY="benchmark-key-of-the-operator")
    out = common.quiet_stdout()

    from lambda_handler import recording
    from lambda_handler.config import get_settings
    from lambda_handler.handler import handler

    transactions = common.named_transactions(
        ROWS, lambda i: (f"C{1_000_000_000 + i}", f"C{2_000_000_000 + i}")
    )
    single = common.http_api_event("/predict", common.FULL_TRANSACTION)
    batch = common.http_api_event("/predict/batch", {"transactions": transactions})
    context = common.Context()
    settings = get_settings()
    modes = ("off", "store", "log")
    recorders = {mode: recording.build(settings.model_copy(update={"records": mode})) for mode in modes}
    assert handler(single, context)["statusCode"] == 200

    def call(mode: str, event: dict[str, Any]) -> Callable[[], None]:
        def run() -> None:
            recording._recorder = recorders[mode]  # noqa: SLF001 - the benchmark switches recorders itself
            handler(event, context)

        return run

    single_p50 = common.interleaved_p50({mode: call(mode, single) for mode in recorders})
    batch_rate = _rows_per_second({mode: call(mode, batch) for mode in recorders}, recorders)
    print(f"{'records':<10}{'/predict p50':>14}{'ratio':>8}{'batch rows/s':>16}{'ratio':>8}", file=out)
    single_ratio = {mode: single_p50[mode] / single_p50["off"] for mode in modes}
    batch_ratio = {mode: batch_rate[mode] / batch_rate["off"] for mode in modes}
    for mode in modes:
        print(f"{mode:<10}{single_p50[mode] * 1e6:>11.1f} µs{single_ratio[mode]:>8.3f}"
              f"{batch_rate[mode]:>16,.0f}{batch_ratio[mode]:>8.3f}", file=out)  # fmt: skip
    met = all(single_ratio[m] <= SINGLE_GOAL and batch_ratio[m] >= BATCH_GOAL for m in ("store", "log"))
    verdict = "MET" if met else "NOT MET"
    print(f"goals: /predict ratio ≤ {SINGLE_GOAL}, batch rows/s ratio ≥ {BATCH_GOAL}: {verdict}", file=out)
    for recorder in recorders.values():
        if isinstance(recorder, recording.StoreRecorder):
            recorder.close()
    shutil.rmtree(root, ignore_errors=True)
    return 0 if met else 1


def _rows_per_second(
    calls: dict[str, Callable[[], None]], recorders: dict[str, Any], rounds: int = 8
) -> dict[str, float]:
    """Median rows/s of rounds of 20 batches each, a round ending when its records are written."""
    rates: dict[str, list[float]] = {mode: [] for mode in calls}
    for run in calls.values():
        run()
    for _ in range(rounds):
        for mode, run in calls.items():
            started = time.perf_counter()
            for _ in range(20):
                run()
            recorders[mode].flush()
            rates[mode].append(20 * ROWS / (time.perf_counter() - started))
    return {mode: statistics.median(values) for mode, values in rates.items()}


if __name__ == "__main__":
    raise SystemExit(main())
