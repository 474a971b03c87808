"""`fraud policy backtest`: what a decision policy would have done on labelled transactions, before it serves.

Every row is scored like the API scores it (training_job.evaluate.route), then decided by the candidate policy
and by the one it would replace (the store's current policy, or `against`), with the store's lists as they
are now. Reported per rule and per outcome: transactions hit, frauds caught, legitimate transactions hit,
precision, the money of each; and how many transactions change outcome, in which direction.

Counts are as the data stands: PaySim's public samples are fraud-enriched, so shares of all traffic
overstate what a policy blocks; `legitimate_share` (legitimate transactions hit / all legitimate ones) does
not depend on the fraud rate and is the review or block rate to plan for.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fraud_model import policy_store
from fraud_model.artifact import load_version, read_pointer
from fraud_model.errors import InputError
from fraud_model.features import FULL
from fraud_model.metrics import json_safe
from fraud_model.policy import MODEL_VARIABLES, Policy
from fraud_model.schema import LABEL, REQUIRED_REQUEST_FIELDS
from fraud_model.scorer import Scorer
from fraud_model.store import open_store
from training_job.dataset import Dataset, load_dataset
from training_job.evaluate import decision_variables, route

CHUNK = 250_000  # rows decided at once: bounds the (rules x rows) matrices


@dataclass
class _Tally:
    """Transactions, frauds and money of one group of rows."""

    transactions: int = 0
    frauds: int = 0
    fraud_amount: float = 0.0
    legitimate_amount: float = 0.0

    def add(self, rows: np.ndarray, labels: np.ndarray, amount: np.ndarray) -> None:
        fraud = rows & labels
        self.transactions += int(rows.sum())
        self.frauds += int(fraud.sum())
        self.fraud_amount += float(amount[fraud].sum())
        self.legitimate_amount += float(amount[rows & ~labels].sum())

    def summary(self, total: _Tally) -> dict[str, Any]:
        legitimate = self.transactions - self.frauds
        return {
            "transactions": self.transactions,
            "share": self.transactions / total.transactions if total.transactions else None,
            "frauds": self.frauds,
            "legitimate": legitimate,
            "precision": self.frauds / self.transactions if self.transactions else None,
            "recall": self.frauds / total.frauds if total.frauds else None,
            "legitimate_share": legitimate / (total.transactions - total.frauds)
            if total.transactions > total.frauds
            else None,
            "fraud_amount": round(self.fraud_amount, 2),
            "legitimate_amount": round(self.legitimate_amount, 2),
        }


@dataclass
class _Run:
    total: _Tally = field(default_factory=_Tally)
    rules: dict[str, _Tally] = field(default_factory=dict)
    true: Counter[str] = field(default_factory=Counter)
    outcomes: dict[str, _Tally] = field(default_factory=dict)
    moves: dict[tuple[str, str], _Tally] = field(default_factory=dict)


def backtest(
    policy: Policy,
    document: Mapping[str, Any],
    uris: Sequence[str],
    *,
    store_uri: str | None = None,
    model_version: str | None = None,
    against: str | None = None,
    progress: bool = False,
    stress: bool = False,
) -> dict[str, Any]:
    """The backtest of a compiled `policy` on labelled files, as strict-JSON data; with `stress`, also the
    outcomes of the files' frauds changed as their author could (training_job.stress's families)."""
    store = open_store(store_uri)
    scorer = Scorer(load_version(store, model_version or read_pointer(store)))
    against = against or policy_store.read_policy_pointer(store)
    baseline, _ = policy_store.load_policy(store, against)
    lists = policy_store.read_lists(store, [*policy.lists, *baseline.lists])
    required = (LABEL, *REQUIRED_REQUEST_FIELDS)
    fields = (policy.variables | baseline.variables) - {*MODEL_VARIABLES, *required}
    optional = tuple(dict.fromkeys([*(n for n in FULL.inputs if n not in required), *sorted(fields)]))
    dataset, quarantine = load_dataset(uris, required=required, optional=optional, progress=progress)
    if len(dataset) == 0:
        raise InputError(f"no valid rows to backtest ({quarantine.bad} quarantined)")
    run = _Run()
    routed = route(scorer, dataset, each=False)
    for start in range(0, len(dataset), CHUNK):
        rows = slice(start, min(start + CHUNK, len(dataset)))
        values = decision_variables(dataset, rows, routed.verdicts(rows))
        labels = dataset.labels[rows].astype(bool)
        amount = dataset.columns["amount"][rows]
        _tally(run, policy, baseline, values, lists, labels, amount)
    result = {"stress": _stress(scorer, dataset, policy, baseline, lists)} if stress else {}
    return json_safe(
        {
            **result,
            "policy": {"description": document.get("description", ""), "mode": policy.mode,
                       "rules": len(policy.rules), "lists": {n: len(lists[n]) for n in policy.lists}},
            "against": against,
            "model_version": scorer.version,
            "rows": run.total.transactions,
            "frauds": run.total.frauds,
            "fraud_amount": round(run.total.fraud_amount, 2),
            "legitimate_amount": round(run.total.legitimate_amount, 2),
            "unscored": int((routed.feature_set < 0).sum()),
            "quarantined": quarantine.bad,
            "rules": [
                {"id": rule.id, "outcome": rule.outcome, "expression": rule.expression,
                 "true": run.true[rule.id], **run.rules[rule.id].summary(run.total)}
                for rule in policy.rules
            ],
            "outcomes": {name: run.outcomes[name].summary(run.total) for name in policy.outcomes},
            "changed": sum(t.transactions for t in run.moves.values()),
            "changes": [
                {"from": old, "to": new, **tally.summary(run.total)}
                for (old, new), tally in sorted(run.moves.items(), key=lambda item: -item[1].transactions)
            ],
            "data": dataset.sources,
        }
    )  # fmt: skip


def _stress(
    scorer: Scorer, dataset: Dataset, policy: Policy, baseline: Policy, lists: Mapping[str, frozenset[str]]
) -> dict[str, Any]:
    """{family: share of the changed frauds given each outcome, and the share the baseline lets through}."""
    from training_job.stress import FAMILIES  # it builds on evaluate, as this module does

    frauds = dataset.take(dataset.labels == 1)
    out: dict[str, Any] = {}
    for family, change in FAMILIES.items():
        changed = change(frauds.columns)
        size = len(changed["amount"])
        if size == 0:
            continue
        variants = Dataset(changed, np.zeros(size, dtype=np.int16), frauds.sources)
        values = decision_variables(variants, slice(0, size), route(scorer, variants, each=False).verdicts())
        outcome = Counter(policy.decide_columns(values, lists).outcome)
        allowed = Counter(baseline.decide_columns(values, lists).outcome)[baseline.default_outcome]
        out[family] = {
            "frauds": size,
            **{name: outcome[name] / size for name in policy.outcomes},
            "let_through_by_against": allowed / size,
        }
    return out


def _tally(
    run: _Run,
    policy: Policy,
    baseline: Policy,
    values: dict[str, np.ndarray],
    lists: Mapping[str, frozenset[str]],
    labels: np.ndarray,
    amount: np.ndarray,
) -> None:
    matched = policy.matches(values, lists)
    decided = policy.resolve(matched)
    outcome = np.array(decided.outcome, dtype=object)
    previous = np.array(baseline.decide_columns(values, lists).outcome, dtype=object)
    run.total.add(np.ones(len(labels), dtype=bool), labels, amount)
    answered = policy.answered(matched)  # the rules each answer's matched_rules would name
    for i, rule in enumerate(policy.rules):
        run.true[rule.id] += int(matched[i].sum())
        run.rules.setdefault(rule.id, _Tally()).add(answered[i], labels, amount)
    for name in policy.outcomes:
        run.outcomes.setdefault(name, _Tally()).add(outcome == name, labels, amount)
    changed = outcome != previous
    if changed.any():
        for old, new in set(zip(previous[changed].tolist(), outcome[changed].tolist(), strict=True)):
            run.moves.setdefault((old, new), _Tally()).add(changed & (previous == old) & (outcome == new),
                                                         labels, amount)  # fmt: skip


_RULE_COLUMNS = ("transactions", "frauds", "legitimate", "precision", "fraud_amount", "legitimate_amount")
_OUTCOME_COLUMNS = ("transactions", "frauds", "legitimate", "precision", "recall", "legitimate_share",
                    "fraud_amount", "legitimate_amount")  # fmt: skip
_LABELS = {
    "transactions": "hit", "frauds": "frauds", "legitimate": "legit", "precision": "precision",
    "recall": "recall", "legitimate_share": "legit rate", "fraud_amount": "fraud $",
    "legitimate_amount": "legit $",
}  # fmt: skip


def render_table(result: Mapping[str, Any]) -> str:
    """The backtest for people: per rule, per outcome, then the changes against the current policy."""
    lines = [
        f"{result['rows']:,} transactions ({result['frauds']:,} frauds) scored by model "
        f"{result['model_version']}; {result['quarantined']:,} quarantined, {result['unscored']:,} unscored",
        "",
        _row("rule (as answered)", [_LABELS[c] for c in _RULE_COLUMNS]),
    ]
    for rule in result["rules"]:
        lines.append(_row(f"{rule['id']} -> {rule['outcome']}", [_cell(c, rule[c]) for c in _RULE_COLUMNS]))
    lines += ["", _row("outcome", [_LABELS[c] for c in _OUTCOME_COLUMNS])]
    for name, tally in result["outcomes"].items():
        lines.append(_row(name, [_cell(c, tally[c]) for c in _OUTCOME_COLUMNS]))
    lines += ["", f"against policy {result['against']}: {result['changed']:,} transactions change outcome"]
    for move in result["changes"]:
        lines.append(
            f"  {move['from']} -> {move['to']}: {move['transactions']:,} "
            f"({move['frauds']:,} frauds, {move['legitimate']:,} legitimate)"
        )
    if result.get("stress"):
        lines += [
            "",
            "frauds changed as their author could (share given each outcome; the policy compared with):",
        ]
        outcomes = list(result["outcomes"])
        lines.append(_row("change", ["frauds", *outcomes, "was allowed"]))
        for family, shares in result["stress"].items():
            cells = [f"{shares['frauds']:,}", *(f"{shares[o]:.3f}" for o in outcomes)]
            lines.append(_row(family, [*cells, f"{shares['let_through_by_against']:.3f}"]))
    return "\n".join(lines)


def _row(label: str, cells: Sequence[str]) -> str:
    return f"{label:<30}" + "".join(f"{cell:>13}" for cell in cells)


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if column.endswith("_amount"):
        return _money(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:.4f}"


def _money(value: float) -> str:
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:.0f}"
