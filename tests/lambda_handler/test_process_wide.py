"""The process-wide instance: built once however many first requests race for it, closed when reset."""

from __future__ import annotations

import threading
import time

from lambda_handler.process_wide import ProcessWide


def test_process_wide_concurrent_first_uses_build_one_instance() -> None:
    built: list[object] = []

    def build() -> object:
        time.sleep(0.05)  # long enough for every thread to arrive while the first builds
        built.append(object())
        return built[-1]

    shared = ProcessWide(build)
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(shared.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1
    assert all(value is built[0] for value in seen)


def test_process_wide_reset_closes_the_instance_and_the_next_use_builds_anew() -> None:
    closed: list[int] = []
    counter = iter(range(10))
    shared = ProcessWide(lambda: next(counter), close=closed.append)
    assert shared.peek() is None
    assert shared.get() == 0
    shared.reset()
    assert closed == [0]
    assert shared.peek() is None
    assert shared.get() == 1
