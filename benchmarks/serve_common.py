"""Shared by the serve_*.py benchmarks: a 300-tree model version, API Gateway events, timing helpers.

The model is trained once (XGBoost, 300 rounds, depth 6, one model per feature set, labels with 2 %
noise so that trees grow to full depth), with an evasion band (0.9) whose evasion model per feature set
has training's most rounds for it (FRAUD_EVASION_MAX_ROUNDS, 100; other noise, full depth too), and kept in
benchmarks/results/serve_model_store.
Run `python benchmarks/serve_common.py` to (re)build it.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# The serving benchmarks measure scoring and deciding; recording has its own (serve_records.py, which picks
# its recorders itself).
os.environ.setdefault("FRAUD_RECORDS", "off")
sys.path.insert(0, str(ROOT))

from fraud_model import artifact  # noqa: E402
from fraud_model.features import FEATURE_SETS  # noqa: E402
from fraud_model.forest import from_xgboost_json  # noqa: E402
from fraud_model.schema import SCHEMA_VERSION, TYPE, TYPE_CODES  # noqa: E402
from fraud_model.scorer import Scorer  # noqa: E402
from fraud_model.store import LocalStore  # noqa: E402
from training_job.generator import generate  # noqa: E402

STORE_DIR = ROOT / "benchmarks" / "results" / "serve_model_store"
TREES, DEPTH = 300, 6
BAND, EVASION_TREES = 0.9, 100
SEED_TRANSACTION = {"amount": 112.00, "oldbalanceOrg": 100.00, "newbalanceOrig": 0.00}
FULL_TRANSACTION = {
    "type": "TRANSFER", "amount": 181000.0, "oldbalanceOrg": 181000.0, "newbalanceOrig": 0.0,
    "oldbalanceDest": 21182.0, "newbalanceDest": 0.0, "step": 1, "nameOrig": "C1305486145",
    "nameDest": "C553264065",
}  # fmt: skip


def training_columns(rows: int = 60_000, seed: int = 11) -> dict[str, np.ndarray]:
    columns = generate(rows, fraud_rate=0.02, seed=seed)
    columns[TYPE] = np.array([TYPE_CODES[t] for t in columns[TYPE]], dtype=np.int8)
    return columns


def named_transactions(
    rows: int, name: Callable[[int], tuple[str, str]], seed: int = 99
) -> list[dict[str, Any]]:
    """`rows` generated transactions as API requests, with every field; `name(i)` gives row i's accounts."""
    from fraud_model.schema import TRANSACTION_TYPES

    columns = training_columns(rows, seed=seed)
    money = ("amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest")
    return [
        {"type": TRANSACTION_TYPES[int(columns["type"][i])], "step": int(columns["step"][i]),
         **dict(zip(("nameOrig", "nameDest"), name(i), strict=True)),
         **{field: float(columns[field][i]) for field in money}}
        for i in range(rows)
    ]  # fmt: skip


def model_store(*, rebuild: bool = False) -> LocalStore:
    """The benchmark model version (built on first use, ~15 s)."""
    store = LocalStore(STORE_DIR)
    if not rebuild:
        try:
            scorer = Scorer(
                artifact.load_version(store, artifact.read_pointer(store))
            )  # refuses changed features
            band = scorer._models["full"].band  # noqa: SLF001 - the benchmark's own model
            if band is not None and band.forest.roots.size == EVASION_TREES:
                return store
        except Exception:  # noqa: BLE001 - anything amiss (or features changed since): rebuild
            pass
    import xgboost

    shutil.rmtree(STORE_DIR, ignore_errors=True)
    columns = training_columns()
    rng = np.random.default_rng(0)
    labels = columns["isFraud"].astype(np.float32)
    noisy = [np.where(rng.random(labels.size) < 0.02, 1.0 - labels, labels) for _ in range(2)]  # full depth
    files: dict[str, bytes] = {}
    models: dict[str, artifact.FeatureSetModel] = {}
    for name, feature_set in FEATURE_SETS.items():
        x = feature_set.compute(columns)
        params = {"objective": "binary:logistic", "max_depth": DEPTH, "eta": 0.1, "nthread": 2, "seed": 0}
        for prefix, y, trees in ((name, noisy[0], TREES), (f"{name}.evasion", noisy[1], EVASION_TREES)):
            booster = xgboost.train(params, xgboost.DMatrix(x, y), trees)
            margin = booster.predict(xgboost.DMatrix(x[:2000]), output_margin=True)
            forest = from_xgboost_json(json.loads(bytes(booster.save_raw("json"))), x.shape[1])
            forest = forest.calibrated(x[:200], margin[:200])
            forest.verify(x[:2000], margin)
            files[f"{prefix}.xgboost.ubj"] = bytes(booster.save_raw("ubj"))
            files[f"{prefix}.forest.npz"] = forest.to_bytes()
        evasion = artifact.EvasionModel(
            library="xgboost",
            native_file=f"{name}.evasion.xgboost.ubj",
            forest_file=f"{name}.evasion.forest.npz",
        )
        models[name] = artifact.FeatureSetModel(
            feature_set=name, features=list(feature_set.features), inputs=list(feature_set.inputs),
            library="xgboost", native_file=f"{name}.xgboost.ubj", forest_file=f"{name}.forest.npz",
            threshold=0.5, evasion=evasion,
        )  # fmt: skip
    metadata = artifact.Metadata(
        schema_version=SCHEMA_VERSION, version=artifact.new_version_id(),
        created_at=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()), models=models, evasion_band=BAND,
    )  # fmt: skip
    artifact.publish(store, metadata, files)
    return store


def without_band(scorer: Scorer) -> Scorer:
    """The same version scored as it was before the band: its shipped models alone."""
    metadata = scorer.metadata.model_copy(update={"evasion_band": 0.0})
    store = LocalStore(STORE_DIR)
    return Scorer(artifact.LoadedVersion(metadata, artifact.load_version(store, scorer.version).files))


def native_booster(store: LocalStore, feature_set: str = "full") -> Any:
    """The XGBoost booster of the current version, one thread (the baselines)."""
    import xgboost

    loaded = artifact.load_version(store, artifact.read_pointer(store))
    booster = xgboost.Booster(params={"nthread": 1})
    booster.load_model(bytearray(loaded.files[loaded.metadata.models[feature_set].native_file]))
    return booster


def http_api_event(path: str, body: Any, *, method: str = "POST", stage: str = "prod") -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, as Lambda receives it."""
    full = f"/{stage}{path}"
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": full,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "abc123.execute-api.eu-west-1.amazonaws.com",
                    "x-forwarded-proto": "https", "x-forwarded-port": "443"},
        "requestContext": {"apiId": "abc123", "http": {"method": method, "path": full, "protocol": "HTTP/1.1",
                           "sourceIp": "203.0.113.7", "userAgent": "bench"},
                           "requestId": "bench-request-0001", "routeKey": "$default", "stage": stage},
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }  # fmt: skip


class Context:
    """The bits of a Lambda context object the handler may read."""

    function_name = "fraud-inference"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:000000000000:function:fraud-inference"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def interleaved_p50(
    candidates: dict[str, Callable[[], Any]],
    *,
    rounds: int = 15,
    calls: int = 150,
    between: Callable[[], Any] | None = None,
) -> dict[str, float]:
    """Median seconds per call of each candidate, measured in alternating rounds (fair on a noisy machine);
    `between` runs after each call, untimed."""
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for fn in candidates.values():  # warm up
        for _ in range(20):
            fn()
            if between is not None:
                between()
    for _ in range(rounds):
        for name, fn in candidates.items():
            for _ in range(calls):
                started = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - started)
                if between is not None:
                    between()
    return {name: statistics.median(values) for name, values in samples.items()}


def quiet_stdout() -> Any:
    """Send fd 1 (the handler's logs and EMF lines) to /dev/null; returns a stream to the real stdout."""
    real = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    return real


if __name__ == "__main__":
    built = model_store(rebuild="--rebuild" in sys.argv)
    print(f"model version {artifact.read_pointer(built)} in {built.uri}")
