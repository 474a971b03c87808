"""A small, seeded generator of PaySim-schema transactions for the demo and the tests.

It reproduces the patterns that matter for the model: fraud is a victim's balance drained by a TRANSFER,
then cashed out by a mule; legitimate traffic has PaySim's own quirks (zero-balance accounts whose
balances do not add up, destinations whose balances are not updated), so the model must learn more
than "balance went to zero". Not a substitute for real data: model quality is measured on PaySim itself.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np

from fraud_model.schema import COLUMNS, TRANSACTION_TYPES

_LEGIT_TYPE_SHARE = {"CASH_IN": 0.22, "CASH_OUT": 0.35, "DEBIT": 0.01, "PAYMENT": 0.34, "TRANSFER": 0.08}
_TYPE_AMOUNT = {
    "CASH_IN": (11.6, 1.0),
    "CASH_OUT": (11.7, 1.0),
    "DEBIT": (8.5, 1.0),
    "PAYMENT": (8.6, 1.1),
    "TRANSFER": (12.6, 1.2),
}  # fmt: skip  (lognormal mu, sigma)
_MAX_TRANSFER = 10_000_000.0  # PaySim caps a single transfer


def generate(
    rows: int, *, fraud_rate: float = 0.0013, steps: int = 743, seed: int = 7
) -> dict[str, np.ndarray]:
    """Columns of `rows` transactions sorted by step; frauds come as TRANSFER + CASH_OUT pairs."""
    if rows < 1 or not 0 <= fraud_rate < 0.5:
        raise ValueError("need rows >= 1 and 0 <= fraud_rate < 0.5")
    rng = np.random.default_rng(seed)
    pairs = int(round(rows * fraud_rate / 2))
    legit = _legit(rng, rows - 2 * pairs, steps)
    fraud = _fraud(rng, pairs, steps)
    columns = {name: np.concatenate([legit[name], fraud[name]]) for name in legit}
    order = np.argsort(columns["step"], kind="stable")
    columns = {name: values[order] for name, values in columns.items()}
    columns["nameOrig"] = _names(rng, rows, "C")
    columns["nameDest"] = np.where(
        columns["type"] == "PAYMENT", _names(rng, rows, "M"), _names(rng, rows, "C")
    )
    columns["isFlaggedFraud"] = ((columns["type"] == "TRANSFER") & (columns["amount"] > 200_000)
                                 & (columns["isFraud"] == 1)).astype(np.int8)  # fmt: skip
    return columns


def _legit(rng: np.random.Generator, n: int, steps: int) -> dict[str, np.ndarray]:
    types = rng.choice(
        np.array(TRANSACTION_TYPES), size=n, p=[_LEGIT_TYPE_SHARE[t] for t in TRANSACTION_TYPES]
    )
    mu = np.vectorize(lambda t: _TYPE_AMOUNT[t][0])(types)
    sigma = np.vectorize(lambda t: _TYPE_AMOUNT[t][1])(types)
    amount = np.asarray(np.round(np.minimum(rng.lognormal(mu, sigma), _MAX_TRANSFER), 2), dtype=np.float64)
    old_org = np.round(rng.lognormal(10.5, 2.0, n), 2) * (rng.random(n) > 0.35)  # a third of accounts hold 0
    cash_in = types == "CASH_IN"
    covered = old_org >= amount
    new_org = np.where(cash_in, old_org + amount, np.where(covered, old_org - amount, 0.0))
    # Some customers legitimately empty their account (rent, savings moves): draining is not proof.
    drain = ~cash_in & (rng.random(n) < 0.002) & (old_org > 0)
    amount = np.where(drain, old_org, amount)
    new_org = np.where(drain, 0.0, new_org)
    merchant = types == "PAYMENT"
    old_dest = np.where(merchant, 0.0, np.round(rng.lognormal(12.0, 2.0, n), 2) * (rng.random(n) > 0.3))
    sign = np.where(cash_in, -1.0, 1.0)
    new_dest = np.where(merchant, 0.0, np.maximum(old_dest + sign * amount, 0.0))
    stale = ~merchant & (rng.random(n) < 0.15)  # PaySim does not always update destination balances
    new_dest = np.where(stale, old_dest, new_dest)
    hour = rng.choice(24, size=n, p=_diurnal())
    step = np.minimum(rng.integers(0, steps // 24 + 1, n) * 24 + hour, steps - 1) + 1
    return _pack(step, types, amount, old_org, new_org, old_dest, new_dest, np.zeros(n, dtype=np.int8))


def _fraud(rng: np.random.Generator, pairs: int, steps: int) -> dict[str, np.ndarray]:
    balance = np.round(rng.lognormal(12.5, 1.5, pairs), 2)
    amount = np.minimum(balance, _MAX_TRANSFER)
    step = rng.integers(1, steps + 1, pairs)  # fraud does not sleep at night
    untouched = rng.random(pairs) < 0.5  # half the mules' balances are never updated
    mule_old = np.where(untouched, 0.0, np.round(rng.lognormal(10.0, 2.0, pairs), 2))
    mule_new = np.where(untouched, 0.0, mule_old + amount)
    transfer = _pack(step, np.full(pairs, "TRANSFER"), amount, balance, balance - amount,
                     mule_old, mule_new, np.ones(pairs, dtype=np.int8))  # fmt: skip
    cash_old = np.where(untouched, 0.0, mule_new)
    cashout = _pack(step, np.full(pairs, "CASH_OUT"), amount, amount, np.zeros(pairs),
                    cash_old, cash_old + amount * ~untouched, np.ones(pairs, dtype=np.int8))  # fmt: skip
    return {name: np.concatenate([transfer[name], cashout[name]]) for name in transfer}


def _pack(*values: np.ndarray) -> dict[str, np.ndarray]:
    step, types, amount, old_org, new_org, old_dest, new_dest, label = values
    return {"step": step.astype(np.int32), "type": types.astype("<U8"), "amount": amount,
            "oldbalanceOrg": old_org, "newbalanceOrig": np.round(new_org, 2), "oldbalanceDest": old_dest,
            "newbalanceDest": np.round(new_dest, 2), "isFraud": label}  # fmt: skip


def _diurnal() -> np.ndarray:
    weights = np.array([1, 0.5, 0.3, 0.2, 0.2, 0.3, 1, 2, 4, 6, 7, 8, 8, 8, 8, 8, 7, 7, 6, 6, 5, 4, 3, 2])
    return weights / weights.sum()


def _names(rng: np.random.Generator, n: int, letter: str) -> np.ndarray:
    return np.char.add(letter, rng.integers(10**8, 10**9, n).astype(str))


def write_csv(columns: dict[str, np.ndarray], path: str | Path) -> Path:
    """Write columns as a PaySim CSV (gzip-compressed when the name ends in .gz)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        money = {"amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest"}
        cells = [np.char.mod("%.2f", columns[c]) if c in money else columns[c].astype(str) for c in COLUMNS]
        writer.writerows(zip(*cells, strict=True))
    return path
