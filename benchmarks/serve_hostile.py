"""Hostile bodies through the Lambda handler: a 1 MB body of any shape is answered within 0.5 s with an
answer under 64 KB (and never near Lambda's 6 MB response limit).

Each shape is sent as a `/predict/batch` (and `/predict`) HTTP API event to the real handler with a model
loaded; the time is the handler call, the size its answer's body. The baseline in the same run is the
largest valid request, a batch of 1,000 transactions. Median of `--samples` calls per shape.

    .venv/bin/python benchmarks/serve_hostile.py [--samples 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fraud_model.store import LocalStore  # noqa: E402
from lambda_handler.handler import handler  # noqa: E402
from tests.factory import publish_tiny_version  # noqa: E402
from tests.lambda_handler.gateway_events import SEED, Context, http_api  # noqa: E402

MB = 1_000_000
GOAL_SECONDS, GOAL_BYTES = 0.5, 64 * 1024
_ONE = json.dumps(SEED)

SHAPES = {
    "1,000 valid transactions (baseline)": '{"transactions": [' + ",".join([_ONE] * 1000) + "]}",
    "340,000 empty transactions": '{"transactions": [' + ",".join(["{}"] * 340_000) + "]}",
    "14,000 valid transactions": '{"transactions": [' + ",".join([_ONE] * 14_000) + "]}",
    "1,000 transactions of bad values": '{"transactions": ['
    + ",".join(['{"amount": "x", "oldbalanceOrg": -1, "newbalanceOrig": true, "type": "NOPE"}'] * 1000)
    + "]}",
    "80,000 unknown fields": '{"transactions": [{' + ",".join(f'"k{i}": 1' for i in range(80_000)) + "}]}",
    "a 1 MB field name": '{"' + "k" * MB + '": 1}',
    "a 1 MB string value": '{"amount": 1, "oldbalanceOrg": 1, "newbalanceOrig": 0, "nameOrig": "'
    + "x" * MB
    + '"}',
    "500,000 nested arrays": "[" * 500_000 + "]" * 500_000,
    "170,000 nested objects": '{"a":' * 170_000 + "1" + "}" * 170_000,
    "a 1 MB number": '{"transactions": [{"amount": ' + "9" * MB + "}]}",
    "invalid UTF-8": '{"transactions": [{"amount": "\udcff"}]}',
}


def _event(path: str, body: str) -> dict[str, object]:
    return http_api(path=path, raw_body=body.encode("utf-8", "surrogateescape").decode("latin-1"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = LocalStore(Path(tmp))
        publish_tiny_version(store, rounds=30)
        os.environ["FRAUD_MODEL_STORE"] = store.uri
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        os.environ["POWERTOOLS_LOG_LEVEL"] = "CRITICAL"
        context = Context()
        handler(http_api(), context)  # load the model, import the app
        print(f"{'body (1 MB or less), route':52} {'status':>6} {'median s':>9} {'answer bytes':>13}  goal")
        failed = False
        baseline = None
        for name, body in SHAPES.items():
            for path in ("/predict/batch", "/predict"):
                times, sizes, statuses = [], [], set()
                for _ in range(args.samples):
                    started = time.perf_counter()
                    response = handler(_event(path, body), context)
                    times.append(time.perf_counter() - started)
                    sizes.append(len(response["body"]))
                    statuses.add(response["statusCode"])
                median, size = statistics.median(times), max(sizes)
                if baseline is None:
                    baseline = median
                met = median <= GOAL_SECONDS and size < GOAL_BYTES
                if name.endswith("(baseline)"):
                    met = True  # a valid answer: its size is the predictions'
                failed = failed or not met
                ratio = median / baseline
                label = f"{name}, {path}"
                print(f"{label:52} {'/'.join(map(str, sorted(statuses))):>6} {median:9.3f} {size:13,}  "
                      f"{'met' if met else 'NOT MET'} ({ratio:.2f}x baseline)")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
