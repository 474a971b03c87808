"""Goal 3: `/predict/batch` of 1,000 transactions through the Lambda handler vs XGBoost's batch predict.

Both on the same 300-tree model, one thread. XGBoost gets the 1,000 rows' features ready-made as a
float32 matrix (`Booster.inplace_predict`); ours is the whole request: an HTTP API event with a JSON
body in, validation, routing per transaction, features, scoring, a JSON response out, logs and metrics.
Goal: our rows per second ≥ XGBoost's, judged with our walker on one thread too (same resources).

    .venv/bin/python benchmarks/serve_batch.py
"""

from __future__ import annotations

import os

import serve_common as common

ROWS = 1000
GOAL = 1.0


def main() -> int:
    store = common.model_store()
    os.environ["FRAUD_MODEL_STORE"] = store.uri
    out = common.quiet_stdout()

    from fraud_model import compiled
    from fraud_model.features import FULL
    from fraud_model.schema import TRANSACTION_TYPES
    from lambda_handler import model_cache
    from lambda_handler.handler import get_adapter, handler

    columns = common.training_columns(ROWS, seed=99)
    fields = ("amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest")
    transactions = [
        {"type": TRANSACTION_TYPES[int(columns["type"][i])], "step": int(columns["step"][i]),
         **{name: float(columns[name][i]) for name in fields}}
        for i in range(ROWS)
    ]  # fmt: skip
    event = common.http_api_event("/predict/batch", {"transactions": transactions})
    features = FULL.compute(columns)
    booster = common.native_booster(store)
    context = common.Context()
    first = handler(event, context)
    assert first["statusCode"] == 200, first["body"][:500]
    adapter = get_adapter()
    scorer = model_cache.get_model_cache().get()
    plain = common.without_band(scorer)  # the band's cost: the same scoring without it
    lists = {name: [t[name] for t in transactions] for name in ("type", "step", *fields)}

    def one_thread() -> None:  # the compiled walker may split a batch over cores: show it on one too
        compiled.max_threads = 1
        try:
            handler(event, context)
        finally:
            compiled.max_threads = None

    p50 = common.interleaved_p50(
        {
            "xgboost inplace_predict (features ready)": lambda: booster.inplace_predict(features),
            "handler /predict/batch (fast path)": lambda: handler(event, context),
            "handler /predict/batch, walker on one thread": one_thread,
            "Mangum + FastAPI /predict/batch (fallback path)": lambda: adapter(event, context),
            "Scorer.score_lists": lambda: scorer.score_lists(lists),
            "Scorer.score_lists without the evasion band": lambda: plain.score_lists(lists),
        },
        rounds=8,
        calls=15,
    )
    for name, seconds in p50.items():
        print(f"  {name:<50} p50 {seconds * 1e3:7.2f} ms  {ROWS / seconds:9,.0f} rows/s", file=out)
    baseline = ROWS / p50["xgboost inplace_predict (features ready)"]
    ours = ROWS / p50["handler /predict/batch (fast path)"]
    ours_one = ROWS / p50["handler /predict/batch, walker on one thread"]
    ratio, ratio_one = ours / baseline, ours_one / baseline
    verdict = "MET" if min(ratio, ratio_one) >= GOAL else "NOT MET"
    summary = f"baseline {baseline:,.0f} rows/s, ours {ours:,.0f} rows/s: ratio {ratio:.2f}"
    print(f"{summary}, {ratio_one:.2f} on one thread (goal ≥ {GOAL}) {verdict}", file=out)
    return 0 if min(ratio, ratio_one) >= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
