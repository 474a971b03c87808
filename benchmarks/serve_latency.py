"""Goal 1: one `/predict` through the Lambda handler vs XGBoost's own single-row predict, in one run.

Both on the same 300-tree model (full feature set), one thread. Ours is the whole request: an HTTP API
(payload 2.0) event in, `handler(event, context)`, the response dict out, with logging and EMF metrics
(written to /dev/null). Goal: p50 ≤ 0.5 × XGBoost's `Booster.inplace_predict` single-row p50.

    .venv/bin/python benchmarks/serve_latency.py
"""

from __future__ import annotations

import os

import serve_common as common

GOAL = 0.5


def main() -> int:
    store = common.model_store()
    os.environ["FRAUD_MODEL_STORE"] = store.uri
    out = common.quiet_stdout()

    import numpy as np

    from fraud_model.features import FULL
    from fraud_model.scorer import records_to_columns
    from lambda_handler import model_cache
    from lambda_handler.handler import get_adapter, handler

    booster = common.native_booster(store)
    record = {k: v for k, v in common.FULL_TRANSACTION.items() if k in FULL.inputs}
    row = FULL.compute(records_to_columns([record], FULL.inputs))
    event = common.http_api_event("/predict", common.FULL_TRANSACTION)
    seed_event = common.http_api_event("/predict", common.SEED_TRANSACTION)
    context = common.Context()
    first = handler(event, context)
    assert first["statusCode"] == 200, first
    scorer = model_cache.get_model_cache().get()
    adapter = get_adapter()
    forest = scorer._models["full"].forest  # noqa: SLF001 - benchmark: the forest alone
    plain = common.without_band(scorer)
    assert abs(float(booster.inplace_predict(row)[0]) - plain.score_one(record).fraud_probability) < 1e-5

    p50 = common.interleaved_p50({
        "xgboost inplace_predict (1 row, features ready)": lambda: booster.inplace_predict(row),
        "handler /predict, full transaction (fast path)": lambda: handler(event, context),
        "handler /predict, seed transaction (fast path)": lambda: handler(seed_event, context),
        "Mangum + FastAPI /predict (the fallback path)": lambda: adapter(event, context),
        "Scorer.score_one (features + forest)": lambda: scorer.score_one(record),
        "Scorer.score_one without the evasion band": lambda: plain.score_one(record),
        "Forest.margin, compiled walker": lambda: forest.margin(row),
        "Forest.margin, numpy walk": lambda: forest.margin(row, engine="numpy"),
    })  # fmt: skip
    baseline = p50["xgboost inplace_predict (1 row, features ready)"]
    ours = p50["handler /predict, full transaction (fast path)"]
    print(f"model: {len(forest.roots)} trees, depth {forest.depth}, {forest.feature.size} nodes", file=out)
    for name, seconds in p50.items():
        print(f"  {name:<50} p50 {seconds * 1e6:8.1f} µs", file=out)
    ratio = ours / baseline
    verdict = "MET" if ratio <= GOAL else "NOT MET"
    print(f"baseline {baseline * 1e6:.1f} µs, ours {ours * 1e6:.1f} µs: ratio {ratio:.3f} "
          f"(goal ≤ {GOAL}) {verdict}", file=out)  # fmt: skip
    del np
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
