"""The inference image as built: its size, and its cold start under the real Lambda runtime client.

Builds both images on the stand-in bases (tests/images), trains a small model with the training image, then
times each sample from `docker run` of the inference image (read-only, unprivileged, as Lambda runs it) to
its first `/predict` answer through awslambdaric. Baselines measured in the same run: the same handler and
store in a fresh process on this machine (`python -m awslambdaric`, no container), and an empty container
(`docker run ... true`: what the engine itself costs). Needs a container engine (`.ci/run` starts one).

    .venv/bin/python benchmarks/image_cold_start.py [--samples 5] [--arch x86_64]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.images import containers  # noqa: E402
from tests.images import engine as engine_module  # noqa: E402
from tests.lambda_handler.gateway_events import SEED, http_api  # noqa: E402
from tests.runtime_api import RuntimeApi  # noqa: E402

Engine = engine_module.Engine

MB = 1_000_000


def image_cold_start(
    engine: engine_module.Engine, built: containers.Built, store: Path, version: str
) -> float:
    started = time.perf_counter()
    with containers.lambda_container(engine, built.inference, store, version) as runtime:
        result = runtime.invoke(http_api(body=SEED))
        elapsed = time.perf_counter() - started
    assert result["body"]["statusCode"] == 200, result
    return elapsed


def process_cold_start(store: Path, version: str) -> float:
    api = RuntimeApi()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUD_")}
    env.update(AWS_LAMBDA_RUNTIME_API=api.address, FRAUD_MODEL_STORE=str(store), FRAUD_MODEL_VERSION=version)
    started = time.perf_counter()
    command = [sys.executable, "-m", "awslambdaric", "lambda_handler.handler.handler"]
    quiet = subprocess.DEVNULL
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=quiet, stderr=quiet)
    try:
        result = api.invoke(http_api(body=SEED))
        elapsed = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=10)
        api.close()
    assert result["body"]["statusCode"] == 200, result
    return elapsed


def empty_container(engine: Engine, image: str) -> float:
    started = time.perf_counter()
    engine.run("run", "--rm", "--read-only", "--entrypoint", "true", image)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--arch", default=None, help="x86_64 or aarch64 (default: this machine's)")
    args = parser.parse_args()
    engine, reason = engine_module.find()
    if engine is None:
        print(f"image_cold_start: {reason}", file=sys.stderr)
        return 2
    arch = args.arch or engine.architectures()[0]
    built = containers.build(engine, arch)
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp)
        version = containers.train(engine, built.training, store, rows=20_000, library="xgboost")
        samples = {"image": [], "process": [], "empty container": []}
        for _ in range(args.samples):  # interleaved: the machine's noise hits every column alike
            samples["image"].append(image_cold_start(engine, built, store, version))
            samples["process"].append(process_cold_start(store, version))
            samples["empty container"].append(empty_container(engine, built.inference))
    print(f"cold start, {arch}, {args.samples} samples (spawn -> first /predict answer), median [min-max]:")
    for name, values in samples.items():
        print(f"  {name:16} {statistics.median(values):.2f} s [{min(values):.2f}-{max(values):.2f}]")
    ratio = statistics.median(samples["image"]) / statistics.median(samples["process"])
    print(f"  image / process ratio: {ratio:.2f}")
    print("sizes (uncompressed):")
    for name, tag in (("inference", built.inference), ("training", built.training)):
        size, base = engine.image_size(tag), engine.image_size(built.bases[name])
        print(f"  {name:10} {size / MB:.0f} MB, of which {(size - base) / MB:.0f} MB on top of the base")
    task = containers.python_in(engine, built.inference, "import subprocess; print(subprocess.check_output("
                                "['du', '-sm', '/var/task']).split()[0].decode())")  # fmt: skip
    print(f"  /var/task (the function's code and libraries): {task.strip()} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
