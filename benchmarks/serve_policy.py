"""Issue 11: what a 20-rule decision policy with two 10,000-entry lists costs through the Lambda handler.

The same 300-tree model, the same requests, in one run: with the default policy (the model's verdict) and
with a 20-rule policy reading two lists of 10,000 account names each, in both execution modes, each loaded
through the function's own policy cache from a store; and the policy's two list rules alone, to show what
the lists cost. Goals: `/predict` p50 at most 1.10 x the default policy's; `/predict/batch` of 1,000 at
least 0.80 x its rows/s.

    .venv/bin/python benchmarks/serve_policy.py
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

import serve_common as common

ROWS = 1000
HIT = int(os.environ.get("HIT", 503))  # row i names account i * HIT: rows below 10,000 / HIT are on the lists
SINGLE_GOAL, BATCH_GOAL = 1.10, 0.80
LIST_SIZE = int(os.environ.get("LIST_SIZE", 10_000))

RULES = [
    ("trusted_sender", "nameOrig in lists.trusted_senders", "allow"),
    ("blocked_destination", "nameDest in lists.blocked_destinations", "block"),
    ("model_says_fraud", "is_fraud", "block"),
    ("model_elevated", "probability >= 0.25 * threshold", "review"),
    ("near_drain", "type in ('TRANSFER', 'CASH_OUT') and oldbalanceOrg > 0 and "
                   "0.9 * oldbalanceOrg <= amount < oldbalanceOrg", "review"),
    ("large_transfer", "type == 'TRANSFER' and amount > 200000", "review"),
    ("huge_amount", "amount >= 10000000", "block"),
    ("empty_sender", "oldbalanceOrg == 0 and amount > 0 and type == 'CASH_OUT'", "review"),
    ("dest_unchanged", "oldbalanceDest == newbalanceDest and amount > 0", "review"),
    ("dest_zero", "oldbalanceDest == 0 == newbalanceDest and type in ('TRANSFER', 'CASH_OUT')", "review"),
    ("bookkeeping", "oldbalanceOrg - amount != newbalanceOrig and newbalanceOrig > 0", "review"),
    ("first_hours", "step < 3 and amount > 50000", "review"),
    ("merchant_cash_out", "type == 'CASH_OUT' and nameDest == 'M0'", "block"),
    ("small_probe", "amount < 1 and type == 'TRANSFER'", "review"),
    ("debit_large", "type == 'DEBIT' and amount > 50000", "review"),
    ("payment_drain", "type == 'PAYMENT' and amount == oldbalanceOrg and amount > 1000", "review"),
    ("full_model_risky", "feature_set == 'full' and probability >= 0.4", "review"),
    ("origin_model_risky", "feature_set == 'origin' and probability >= 0.3", "review"),
    ("round_amount", "amount in (10000, 50000, 100000, 500000, 1000000)", "review"),
    ("night_burst", "step >= 20 and step <= 24 and amount > 100000", "review"),
]  # fmt: skip


def policy_document(mode: str = "all_matched", rules: list[tuple[str, str, str]] = RULES) -> dict[str, Any]:
    return {
        "description": f"benchmark: {len(rules)} rules, {mode}",
        "mode": mode,
        "lists": ["trusted_senders", "blocked_destinations"],
        "rules": [{"id": i, "expression": e, "outcome": o} for i, e, o in rules],
    }


def main() -> int:
    store = common.model_store()
    os.environ["FRAUD_MODEL_STORE"] = store.uri
    out = common.quiet_stdout()

    from fraud_model import policy_store
    from fraud_model.store import LocalStore
    from lambda_handler.config import get_settings
    from lambda_handler.handler import handler
    from lambda_handler.policy_cache import PolicyCache, get_policy_cache

    def active(document: dict[str, Any]) -> Any:
        """The policy as the function loads it: published with its lists in a copy of the store."""
        root = tempfile.mkdtemp(prefix="serve_policy_")
        shutil.copytree(store.root, root, dirs_exist_ok=True)
        copy = LocalStore(root)
        policy_store.publish_policy(copy, document)
        policy_store.change_list(copy, "trusted_senders", add=[f"C9{i:08d}" for i in range(LIST_SIZE)])
        policy_store.change_list(copy, "blocked_destinations", add=[f"C8{i:08d}" for i in range(LIST_SIZE)])
        loaded = PolicyCache(get_settings().model_copy(update={"model_store": root})).get()
        shutil.rmtree(root, ignore_errors=True)
        assert loaded.document == document and all(len(v) == LIST_SIZE for v in loaded.lists.values())
        return loaded

    assert len(RULES) == 20
    policies = {
        "20 rules, all_matched": active(policy_document("all_matched")),
        "20 rules, first_matched": active(policy_document("first_matched")),
        "the 2 list rules alone": active(policy_document("all_matched", RULES[:2])),
    }
    # row i names accounts C9…(i * HIT) and C8…(i * HIT): the first rows are on the lists, the rest not
    transactions = common.named_transactions(ROWS, lambda i: (f"C9{i * HIT:08d}", f"C8{i * HIT:08d}"))
    single = common.http_api_event("/predict", common.FULL_TRANSACTION)
    batch = common.http_api_event("/predict/batch", {"transactions": transactions})
    context = common.Context()
    cache = get_policy_cache()
    assert handler(single, context)["statusCode"] == 200
    default = cache.get()
    cache._next_check = float("inf")  # noqa: SLF001 - the benchmark switches policies itself

    def call(policy: Any, event: dict[str, Any]) -> None:
        cache._active = policy  # noqa: SLF001
        handler(event, context)

    call(policies["20 rules, all_matched"], batch)
    answer = handler(batch, context)
    assert answer["statusCode"] == 200 and '"review"' in answer["body"] and '"allow"' in answer["body"]
    candidates = {"default policy": default, **policies}
    single_p50 = common.interleaved_p50(
        {name: (lambda p=policy: call(p, single)) for name, policy in candidates.items()}
    )
    batch_p50 = common.interleaved_p50(
        {name: (lambda p=policy: call(p, batch)) for name, policy in candidates.items()}, rounds=8, calls=15
    )
    print(
        f"{'policy':<28}{'/predict p50':>14}{'ratio':>8}{'batch 1,000 p50':>18}{'rows/s ratio':>14}", file=out
    )
    met = True
    for name in candidates:
        single_ratio = single_p50[name] / single_p50["default policy"]
        batch_ratio = batch_p50["default policy"] / batch_p50[name]
        print(
            f"{name:<28}{single_p50[name] * 1e6:>11.1f} µs{single_ratio:>8.3f}"
            f"{batch_p50[name] * 1e3:>15.2f} ms{batch_ratio:>14.3f}",
            file=out,
        )
        if name.startswith("20 rules"):
            met &= single_ratio <= SINGLE_GOAL and batch_ratio >= BATCH_GOAL
    print(f"goals (20 rules): /predict ratio ≤ {SINGLE_GOAL}, batch rows/s ratio ≥ {BATCH_GOAL}: "
          f"{'MET' if met else 'NOT MET'}", file=out)  # fmt: skip
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
