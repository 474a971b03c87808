"""Goal 2: cold start, from a fresh process to the first answer, with the model in S3 (a moto server).

Each sample spawns a new Python process that imports the handler, loads the current model version from
`s3://` (every file's sha256 checked), and answers one `/predict` HTTP API event; the time runs from the
spawn to the answer. The baseline is the conventional build in the same run: FastAPI + Mangum + boto3
imported up front, the UBJSON model downloaded and loaded into XGBoost, the request through Mangum.
Goal: ours ≤ 1.0 s.

    .venv/bin/python benchmarks/serve_cold_start.py [--samples 7] [--importtime]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time

import serve_common as common

GOAL_SECONDS = 1.0
BUCKET, PREFIX = "fraud-models-bench", "serving"

OURS = """
import json, os, sys
event = json.loads(os.environ["BENCH_EVENT"])
from lambda_handler.handler import handler
response = handler(event, None)
sys.stderr.write("ANSWER " + json.dumps({"status": response["statusCode"]}) + "\\n")
sys.stderr.flush()
"""

BASELINE = """
import json, os, sys
import boto3, numpy as np, xgboost
from fastapi import FastAPI
from mangum import Mangum
from fraud_model import artifact, constants
from fraud_model.features import ORIGIN
from fraud_model.scorer import records_to_columns
from fraud_model.transaction import Transaction

s3 = boto3.client("s3", endpoint_url=os.environ["FRAUD_S3_ENDPOINT_URL"])
prefix = os.environ["BENCH_PREFIX"]
def read(key):
    return s3.get_object(Bucket=os.environ["BENCH_BUCKET"], Key=f"{prefix}/{key}")["Body"].read()
version = json.loads(read(constants.CURRENT_POINTER))["version"]
booster = xgboost.Booster(params={"nthread": 1})
booster.load_model(bytearray(read(f"models/{version}/origin.xgboost.ubj")))
app = FastAPI()

@app.post("/predict")
async def predict(transaction: Transaction) -> dict:
    record = transaction.model_dump()
    x = ORIGIN.compute(records_to_columns([record], ORIGIN.inputs))
    p = float(booster.inplace_predict(x)[0])
    return {"is_fraud": p >= 0.5, "fraud_probability": p, "model_version": version}

handler = Mangum(app, lifespan="off", api_gateway_base_path="/prod")
response = handler(json.loads(os.environ["BENCH_EVENT"]), None)
sys.stderr.write("ANSWER " + json.dumps({"status": response["statusCode"]}) + "\\n")
sys.stderr.flush()
"""


def upload(endpoint: str) -> None:
    import boto3

    store = common.model_store()
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    for key in store.list(""):
        client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{key}", Body=store.read(key))


def sample(script: str, env: dict[str, str], extra: list[str] | None = None) -> tuple[float, str]:
    """Seconds from spawning a fresh interpreter to its first answer, and what it wrote to stderr."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, *(extra or []), "-c", script], env=env, cwd=common.ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if line.startswith("ANSWER "):
            elapsed = time.perf_counter() - started
            assert json.loads(line[7:])["status"] == 200, line
            break
    else:
        raise RuntimeError("no answer:\n" + "".join(lines))
    rest = process.stderr.read()
    process.wait()
    return elapsed, "".join(lines) + rest


def importtime_report(stderr: str, top: int = 12) -> list[str]:
    rows = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
            if cumulative.isdigit():
                rows.append((int(cumulative), name))
    top_level = [(us, name) for us, name in rows if not name.startswith(" ")]
    return [f"  {us / 1e3:7.1f} ms  {name}" for us, name in sorted(top_level, reverse=True)[:top]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=7)
    parser.add_argument("--importtime", action="store_true", help="also print our slowest top-level imports")
    args = parser.parse_args()

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the moto server's request log
    common.model_store()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUD_")}
    env.update({
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "eu-west-1",
        "FRAUD_MODEL_STORE": f"s3://{BUCKET}/{PREFIX}", "FRAUD_S3_ENDPOINT_URL": endpoint,
        "BENCH_BUCKET": BUCKET, "BENCH_PREFIX": PREFIX,
        "BENCH_EVENT": json.dumps(common.http_api_event("/predict", common.SEED_TRANSACTION)),
    })  # fmt: skip
    os.environ.update(
        {k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    )
    try:
        upload(endpoint)
        sample(OURS, env)  # warm the OS file cache for both
        sample(BASELINE, env)
        ours, baseline = [], []
        for _ in range(args.samples):  # alternate: both see the same machine
            ours.append(sample(OURS, env)[0])
            baseline.append(sample(BASELINE, env)[0])
        report = importtime_report(sample(OURS, env, ["-X", "importtime"])[1]) if args.importtime else []
    finally:
        server.stop()
    ours_p50, baseline_p50 = statistics.median(ours), statistics.median(baseline)
    print(f"  samples: {args.samples} fresh processes each, model from s3:// on a moto server")
    print(f"  baseline (FastAPI + Mangum + boto3 up front, UBJSON into XGBoost): p50 {baseline_p50:.3f} s "
          f"(min {min(baseline):.3f})")  # fmt: skip
    print(f"  ours (handler, lazy imports, fast path, forest export):         p50 {ours_p50:.3f} s "
          f"(min {min(ours):.3f})")  # fmt: skip
    if report:
        print("  our slowest top-level imports (cumulative, -X importtime):")
        print("\n".join(report))
    verdict = "MET" if ours_p50 <= GOAL_SECONDS else "NOT MET"
    print(f"baseline {baseline_p50:.3f} s, ours {ours_p50:.3f} s: ratio {ours_p50 / baseline_p50:.2f} "
          f"(goal: ours ≤ {GOAL_SECONDS} s) {verdict}")  # fmt: skip
    return 0 if ours_p50 <= GOAL_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
