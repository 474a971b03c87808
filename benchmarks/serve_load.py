"""Promotes under load: `fraud serve` answers concurrent single and batch requests while the current version
is promoted back and forth; every answer must be a 200 from one whole version.

Two versions of one model differ only in their threshold (0.25 and 0.75), so each prediction says which
version scored it: a batch whose predictions carry another threshold than its `model_version` would be a
mixed-version batch. Reported: requests, errors, mixed batches, latency, and the switch time (promote →
first answer from the new version; the pointer TTL is `--ttl`). The baseline, in the same run, is the same
traffic with no promotes. Bounded: `--seconds` of traffic per phase, on 127.0.0.1 only.

    .venv/bin/python benchmarks/serve_load.py [--seconds 20] [--clients 6] [--ttl 0.5] [--every 1.0]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fraud_model import artifact  # noqa: E402
from fraud_model.store import LocalStore  # noqa: E402
from tests.factory import publish_tiny_version  # noqa: E402
from tests.lambda_handler.gateway_events import FULL, SEED  # noqa: E402
from tests.lambda_handler.model_factory import copy_version  # noqa: E402

THRESHOLDS = (0.25, 0.75)
BATCH = {"transactions": [SEED, FULL] * 50}


@dataclass
class Tally:
    requests: int = 0
    errors: int = 0
    mixed: int = 0
    latencies: list[float] = field(default_factory=list)
    first_seen: dict[str, float] = field(default_factory=dict)  # version -> first answer time
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(base: str, stop: float, thresholds: dict[str, float], tally: Tally, batch: bool) -> None:
    with httpx.Client(base_url=base, timeout=10) as client:
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                response = client.post(
                    "/predict/batch" if batch else "/predict", json=BATCH if batch else SEED
                )
            except httpx.HTTPError:
                with tally.lock:
                    tally.requests += 1
                    tally.errors += 1
                continue
            elapsed = time.perf_counter() - started
            ok = response.status_code == 200
            mixed = False
            version = None
            if ok:
                body = response.json()
                version = body["model_version"]
                predictions = body["predictions"] if batch else [body]
                mixed = any(p["threshold"] != thresholds[version] for p in predictions)
            with tally.lock:
                tally.requests += 1
                tally.errors += not ok
                tally.mixed += mixed
                tally.latencies.append(elapsed)
                if version and version not in tally.first_seen:
                    tally.first_seen[version] = time.monotonic()


def _phase(base: str, seconds: float, clients: int, thresholds: dict[str, float], promote: Any) -> Tally:
    tally = Tally()
    stop = time.monotonic() + seconds
    threads = [threading.Thread(target=_client, args=(base, stop, thresholds, tally, i % 2 == 1))
               for i in range(clients)]  # fmt: skip
    for thread in threads:
        thread.start()
    if promote:
        promote(stop, tally)
    for thread in threads:
        thread.join()
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--ttl", type=float, default=0.5)
    parser.add_argument("--every", type=float, default=1.0, help="seconds between promotes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = LocalStore(Path(tmp) / "store")
        reference = publish_tiny_version(store, rounds=30)
        versions = [
            copy_version(store, reference, store, threshold=t, make_current=False) for t in THRESHOLDS
        ]
        thresholds = dict(zip(versions, THRESHOLDS, strict=True))
        artifact.promote(store, versions[0])
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUD_")}
        env.update(FRAUD_POINTER_TTL_SECONDS=str(args.ttl), POWERTOOLS_METRICS_DISABLED="true",
                   POWERTOOLS_LOG_LEVEL="WARNING")  # fmt: skip
        server = subprocess.Popen(
            [sys.executable, "-m", "fraud_cli", "serve", "--store", store.uri, "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            baseline = _phase(base, args.seconds, args.clients, thresholds, None)
            switches: list[float] = []

            def promote(stop: float, tally: Tally) -> None:
                turn = 1
                while time.monotonic() + args.every < stop:
                    time.sleep(args.every)
                    target = versions[turn % 2]
                    with tally.lock:
                        tally.first_seen.pop(target, None)
                    promoted_at = time.monotonic()
                    artifact.promote(store, target)
                    while time.monotonic() < stop:
                        with tally.lock:
                            seen = tally.first_seen.get(target)
                        if seen is not None and seen >= promoted_at:
                            switches.append(seen - promoted_at)
                            break
                        time.sleep(0.005)
                    turn += 1

            loaded = _phase(base, args.seconds, args.clients, thresholds, promote)
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"{args.clients} clients (half single, half batches of {len(BATCH['transactions'])}), "
          f"{args.seconds:g} s a phase, pointer TTL {args.ttl:g} s")  # fmt: skip
    for name, tally in (("no promotes (baseline)", baseline), (f"promote every {args.every:g} s", loaded)):
        p50 = statistics.median(tally.latencies) * 1000
        p99 = statistics.quantiles(tally.latencies, n=100)[98] * 1000
        print(f"  {name:24} requests {tally.requests:6}  errors {tally.errors}  mixed-version batches "
              f"{tally.mixed}  p50 {p50:.1f} ms  p99 {p99:.1f} ms")  # fmt: skip
    if switches:
        print(f"  promotes {len(switches)}: switch time median {statistics.median(switches) * 1000:.0f} ms, "
              f"max {max(switches) * 1000:.0f} ms")  # fmt: skip
    ratio = (
        statistics.quantiles(loaded.latencies, n=100)[98]
        / statistics.quantiles(baseline.latencies, n=100)[98]
    )
    print(f"  p99 under promotes / baseline p99: {ratio:.2f}")
    return 1 if loaded.errors or loaded.mixed or baseline.errors else 0


if __name__ == "__main__":
    sys.exit(main())
