"""Score data through fraud_model.scorer.Scorer (the API's scorer) and measure it: training's holdout and
`fraud evaluate` alike. Rows are routed like the API routes requests: the richest model their fields allow.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fraud_model import constants
from fraud_model.artifact import load_version, read_pointer
from fraud_model.errors import InputError
from fraud_model.features import FEATURE_SETS, FULL
from fraud_model.metrics import binary_report, json_safe
from fraud_model.schema import LABEL, REQUIRED_REQUEST_FIELDS, TYPE
from fraud_model.scorer import BatchScores, Scorer
from fraud_model.store import open_store
from training_job.dataset import Dataset, load_dataset
from training_job.threshold import natural_rate_weights

SCORE_CHUNK = 20_000  # the forest walk holds rows x trees indexes: bounded memory per call
_NATURAL_KEYS = (
    "pr_auc",
    "roc_auc",
    "precision",
    "recall",
    "f1",
    "recall_at_fpr_0_1pct",
    "recall_at_fpr_1pct",
)


def probabilities(
    scorer: Scorer, feature_set: str, dataset: Dataset, *, chunk: int = SCORE_CHUNK
) -> np.ndarray:
    """Natural-rate fraud probabilities of every row, from `feature_set`'s model, in bounded chunks."""
    out = np.empty(len(dataset), dtype=np.float64)
    for part, columns in dataset.chunks(chunk):
        out[part] = scorer.probabilities(feature_set, columns)
    return out


def measure(
    labels: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    *,
    source: np.ndarray,
    names: list[str],
    natural_rate: float,
    decisions: np.ndarray | None = None,
) -> dict[str, Any]:
    """Headline metrics as the data stands, at the natural fraud rate (negatives reweighted), per source."""
    weights = natural_rate_weights(labels, source, natural_rate)
    report = binary_report(labels, scores, threshold, None, decisions)
    natural = binary_report(labels, scores, threshold, weights, decisions)
    report["natural_rate"] = {key: natural[key] for key in _NATURAL_KEYS}
    report["sources"] = {}
    for index, name in enumerate(names):
        rows = source == index
        if rows.any():
            chosen = None if decisions is None else decisions[rows]
            entry = binary_report(labels[rows], scores[rows], threshold, None, chosen)
            natural = binary_report(labels[rows], scores[rows], threshold, weights[rows], chosen)
            entry["natural_rate"] = {key: natural[key] for key in _NATURAL_KEYS}
            report["sources"][name] = entry
    return report


def present_mask(dataset: Dataset, inputs: tuple[str, ...]) -> np.ndarray:
    """Rows carrying every field in `inputs` (absent optional fields are NaN, or -1 for `type`)."""
    mask = np.ones(len(dataset), dtype=bool)
    for name in inputs:
        values = dataset.columns.get(name)
        if values is None:
            return np.zeros(len(dataset), dtype=bool)
        mask &= values >= 0 if name == TYPE else ~np.isnan(values)
    return mask


@dataclass
class Routed:
    """Every row scored like the API scores it: by the richest model its fields allow."""

    probability: np.ndarray  # NaN where no model can score the row
    is_fraud: np.ndarray
    feature_set: np.ndarray  # index into `names`; -1: no model
    names: list[str]
    thresholds: dict[str, float]
    each: dict[str, tuple[np.ndarray, np.ndarray]]  # feature set -> (rows it can score, their probabilities)

    def verdicts(self, rows: slice | np.ndarray = slice(None)) -> BatchScores:
        """The API's answers for `rows` (a row no model can score: feature set None, threshold NaN)."""
        codes = self.feature_set[rows]
        thresholds = np.array([*self.thresholds.values(), np.nan])  # code -1 -> the last
        return BatchScores(
            fraud_probability=self.probability[rows],
            is_fraud=self.is_fraud[rows],
            threshold=thresholds[codes],
            feature_set=np.array([*self.names, None], dtype=object)[codes].tolist(),
        )


def route(scorer: Scorer, dataset: Dataset, *, each: bool = True) -> Routed:
    """The API's routing: each row scored by the richest model its fields allow. With `each`, also every
    feature set's model on every row it can score (`Routed.each`: evaluation's breakdown); without, each row
    is scored once."""
    names = [name for name in FEATURE_SETS if name in scorer.feature_sets]
    routed = np.full(len(dataset), -1, dtype=np.int8)
    scores = np.full(len(dataset), np.nan)
    decisions = np.zeros(len(dataset), dtype=bool)
    thresholds: dict[str, float] = {}
    per_set: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for code, name in enumerate(names):
        rows = present_mask(dataset, FEATURE_SETS[name].inputs)
        threshold = thresholds[name] = scorer.model(name).threshold
        if not each:
            rows &= routed < 0
            if not rows.any():
                continue
        p = probabilities(scorer, name, dataset.take(rows))
        per_set[name] = rows, p
        take = rows & (routed < 0)
        routed[take] = code
        scores[take] = p[take[rows]]
        decisions[take] = p[take[rows]] >= threshold
    return Routed(scores, decisions, routed, names, thresholds, per_set)


def evaluate_version(scorer: Scorer, dataset: Dataset, *, natural_rate: float) -> dict[str, Any]:
    """Routed like the API, plus each feature set's model on every row it can score."""
    names = [s["uri"] for s in dataset.sources]
    labels = dataset.labels
    routed = route(scorer, dataset)
    breakdown: dict[str, Any] = {}
    for name, (rows, p) in routed.each.items():
        breakdown[name] = measure(
            labels[rows], p, routed.thresholds[name], source=dataset.source[rows], names=names,
            natural_rate=natural_rate,
        )  # fmt: skip
    thresholds = routed.thresholds
    scores, decisions = routed.probability, routed.is_fraud
    counts = {name: int((routed.feature_set == code).sum()) for code, name in enumerate(routed.names)}
    first = next((name for name, n in counts.items() if n), next(iter(thresholds)))
    report = measure(
        labels,
        scores,
        thresholds[first],
        source=dataset.source,
        names=names,
        natural_rate=natural_rate,
        decisions=decisions,
    )
    return {
        **report,
        "model_version": scorer.version,
        "thresholds": thresholds,
        "routed": counts,
        "feature_sets": breakdown,
    }


def evaluate_files(
    uris: Sequence[str],
    *,
    store_uri: str | None = None,
    version: str | None = None,
    natural_rate: float | None = None,
    progress: bool = False,
    quarantine_out: Path | None = None,
    stress: bool = False,
) -> dict[str, Any]:
    """`fraud evaluate`: a published version (default: current) on PaySim files, as strict-JSON data; with
    `stress`, also the evasion stress test on the files' frauds (training_job.stress)."""
    store = open_store(store_uri)
    scorer = Scorer(load_version(store, version or read_pointer(store)))
    optional = tuple(name for name in FULL.inputs if name not in REQUIRED_REQUEST_FIELDS)
    dataset, quarantine = load_dataset(
        uris, required=(LABEL, *REQUIRED_REQUEST_FIELDS), optional=optional, progress=progress
    )
    if quarantine_out is not None and quarantine.bad:
        quarantine_out.write_bytes(
            gzip.decompress(quarantine.to_csv_gz())
            if quarantine_out.suffix != ".gz"
            else quarantine.to_csv_gz()
        )
    if len(dataset) == 0:
        raise InputError(f"no valid rows to evaluate ({quarantine.bad} quarantined)")
    rate = (
        natural_rate
        or scorer.metadata.threshold_policy.get("natural_fraud_rate")
        or constants.NATURAL_FRAUD_RATE
    )
    result = evaluate_version(scorer, dataset, natural_rate=float(rate))
    if stress:
        from training_job.stress import stress_test  # it builds on this module

        result["stress"] = stress_test(scorer, dataset)
    return json_safe(
        {
            **result,
            "quarantined": quarantine.bad,
            "rows_read": quarantine.rows,
            "quarantine_reasons": dict(quarantine.reasons),
            "natural_fraud_rate": rate,
            "data": dataset.sources,
        }
    )


_COLUMNS = {
    "rows": "rows",
    "frauds": "frauds",
    "pr_auc": "PR AUC",
    "roc_auc": "ROC AUC",
    "precision": "precision",
    "recall": "recall",
    "specificity": "specificity",
    "f1": "F1",
    "recall_at_fpr_0_1pct": "R@0.1%FPR",
    "recall_at_fpr_1pct": "R@1%FPR",
}


def render_table(result: Mapping[str, Any]) -> str:
    """The evaluation as a readable table: routed like the API, then each feature set, then each source."""
    lines = [
        f"model version {result['model_version']}: {result['rows']} rows scored, "
        f"{result['quarantined']} quarantined; routed {result['routed']}; thresholds "
        + ", ".join(f"{name} {value:.4g}" for name, value in result["thresholds"].items()),
        "",
        f"{'':<28}" + "".join(f"{label:>12}" for label in _COLUMNS.values()),
    ]
    rows = [("routed like the API", result)]
    rows += [(f"{name} model", m) for name, m in result["feature_sets"].items()]
    rows += [(f"  {Path(name).name[:26]}", m) for name, m in result["sources"].items()]
    rows += [("natural rate (routed)", {**result["natural_rate"], "rows": None, "frauds": None})]
    for label, metrics in rows:
        lines.append(f"{label:<28}" + "".join(_cell(metrics.get(c)) for c in _COLUMNS))
    if result.get("stress"):
        from training_job.stress import render

        lines += [
            "",
            "evasion stress test (the frauds changed as their author could):",
            "",
            render(result["stress"]),
        ]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return f"{'':>12}"
    return f"{value:>12}" if isinstance(value, int) else f"{value:>12.4f}"


def decision_variables(
    dataset: Dataset, rows: slice, verdicts: BatchScores, wanted: frozenset[str] | None = None
) -> dict[str, Any]:
    """The variables policy rules read (`wanted`, default: every one), for `rows` of `dataset` (a field the
    files lack: absent), as `fraud_model.columnar.columns` makes them: a backtest's and a scoring job's."""
    from fraud_model.columnar import columns
    from fraud_model.policy import VARIABLES, model_variables

    size = rows.stop - rows.start
    values: dict[str, Any] = {
        k: v for k, v in model_variables(verdicts).items() if wanted is None or k in wanted
    }
    for name, (kind, _) in VARIABLES.items():
        if name in values or (wanted is not None and name not in wanted):
            continue
        column = dataset.columns.get(name)
        if column is None:
            values[name] = np.full(size, np.nan) if kind == "number" else np.full(size, None, dtype=object)
        else:
            values[name] = column[rows]
    return columns(values)
