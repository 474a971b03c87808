"""Issue 12: what recording every decision costs through the Lambda handler, against recording nothing.

The 300-tree benchmark model, the default policy, transactions with account names hashed with a key. Four
ways, in one run: `off`; `store` (`fraud serve`'s: Parquet parts written by a background thread; its time is
counted, because every round ends with a flush); `log` (JSON lines written before the handler returns:
Lambda without the extension); `log-after` (Lambda's: the lines formatted and written by the after-response
extension once the answer is posted). stdout is unbuffered, as the runtime client makes it on Lambda. For
`log-after` the p50 is the handler's (what the caller waits for) and rows/s counts the work after each answer
too (Lambda waits for it before the next invocation: it is billed); batch rows/s is also given as the caller
sees it (that work run between calls, untimed). Goals: `/predict` p50 at most 1.10 x `off`; `/predict/batch`
of 1,000 at least 0.90 x its rows/s.

    .venv/bin/python benchmarks/serve_records.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
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
    # As on Lambda: the runtime client makes stdout unbuffered (every line written, the metrics' included)
    from awslambdaric.bootstrap import Unbuffered

    sys.stdout = Unbuffered(sys.stdout)

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
    modes = ("off", "store", "log", "log-after")
    recorders = {mode: recording.build(settings.model_copy(update={"records": mode.split("-")[0]}))
                 for mode in modes}  # fmt: skip
    after = _Deferred()
    assert handler(single, context)["statusCode"] == 200

    def call(mode: str, event: dict[str, Any], *, answer_only: bool = False) -> Callable[[], None]:
        def run() -> None:
            recording._recorder.replace(recorders[mode])  # noqa: SLF001 - the benchmark switches recorders
            recording._after = after if mode == "log-after" else None  # noqa: SLF001
            handler(event, context)
            if not answer_only:
                after.run()  # after the answer: Lambda waits for it before the next invocation

        return run

    single_p50 = common.interleaved_p50({mode: call(mode, single, answer_only=True) for mode in recorders},
                                        between=after.run)  # fmt: skip
    # the handler's own share: the same, with the work after each answer dropped instead of run
    alone = common.interleaved_p50({"off": call("off", single, answer_only=True),
                                    "log-after": call("log-after", single, answer_only=True)},
                                   between=after.work.clear)  # fmt: skip
    batch_rate = _rows_per_second({mode: call(mode, batch) for mode in recorders}, recorders)
    # what the caller of /predict/batch waits for: the work after each answer run between calls, untimed
    caller = common.interleaved_p50({"off": call("off", batch, answer_only=True),
                                     "log-after": call("log-after", batch, answer_only=True)},
                                    rounds=8, calls=20, between=after.run)  # fmt: skip
    recording._after = None  # noqa: SLF001
    print(f"{'records':<10}{'/predict p50':>14}{'ratio':>8}{'batch rows/s':>16}{'ratio':>8}", file=out)
    single_ratio = {mode: single_p50[mode] / single_p50["off"] for mode in modes}
    batch_ratio = {mode: batch_rate[mode] / batch_rate["off"] for mode in modes}
    for mode in modes:
        print(f"{mode:<10}{single_p50[mode] * 1e6:>11.1f} µs{single_ratio[mode]:>8.3f}"
              f"{batch_rate[mode]:>16,.0f}{batch_ratio[mode]:>8.3f}", file=out)  # fmt: skip
    alone_ratio = alone["log-after"] / alone["off"]
    print(f"log-after, the handler's own share (the work after the answer not run): /predict p50 "
          f"{alone['log-after'] * 1e6:.1f} µs against {alone['off'] * 1e6:.1f} µs: {alone_ratio:.3f}",
          file=out)  # fmt: skip
    caller_ratio = caller["off"] / caller["log-after"]
    print(f"log-after, as the caller sees it (the work after the answer run between calls, untimed): "
          f"/predict/batch rows/s {ROWS / caller['log-after']:,.0f} against {ROWS / caller['off']:,.0f}: "
          f"{caller_ratio:.3f}", file=out)  # fmt: skip
    met = all(single_ratio[m] <= SINGLE_GOAL and batch_ratio[m] >= BATCH_GOAL for m in ("store", "log-after"))
    verdict = "MET" if met else "NOT MET"
    print(f"goals: /predict ratio ≤ {SINGLE_GOAL}, batch rows/s ratio ≥ {BATCH_GOAL}: {verdict}", file=out)
    for recorder in recorders.values():
        if isinstance(recorder, recording.StoreRecorder):
            recorder.close()
    shutil.rmtree(root, ignore_errors=True)
    return 0 if met else 1


class _Deferred:
    """Stands for the after-response extension: keeps each invocation's work to run after the answer."""

    def __init__(self) -> None:
        self.work: list[Callable[[], None]] = []

    def submit(self, work: Callable[[], None]) -> None:
        self.work.append(work)

    def run(self) -> None:
        from lambda_handler import after_response

        work, self.work = self.work, []
        for piece in work:
            after_response.run(piece)


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
