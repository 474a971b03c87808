"""Robustness to evasion on real PaySim data, and what it costs: the same training on both files of
../shared/data/paysim with and without the monotone constraints and the evasive training copies, each
measured on the unchanged holdout (PR AUC, precision and recall at the shipped threshold) and on the
evasion stress test (training_job.stress: ROC AUC and recall at 1% FPR of the changed frauds against the
legitimate holdout). The baseline is the first variant, trained in the same run.

    .venv/bin/python benchmarks/train_evasion.py [--data DIR]

Goal (issue 15): every family ROC AUC >= 0.95 and recall >= 0.8 at 1% FPR, both feature sets, while the
unchanged holdout keeps PR AUC >= 0.99, precision >= 0.9 and recall >= 0.95 at the threshold.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from training_job import pipeline
from training_job.config import TrainSettings

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "paysim"
VARIANTS = {
    "neither (baseline)": {"monotone": False, "evasive_copies": 0},
    "monotone (shipped)": {"monotone": True, "evasive_copies": 0},
    "evasive copies only": {"monotone": False, "evasive_copies": 1},
    "both": {"monotone": True, "evasive_copies": 1},
    "both, copies weigh 0.2": {"monotone": True, "evasive_copies": 1, "evasive_weight": 0.2},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    files = sorted(str(p) for p in args.data.glob("*.csv.gz"))
    if not files:
        print(f"no .csv.gz files in {args.data}", file=sys.stderr)
        return 2
    print(f"{'variant':<22}{'set':<8}{'PR AUC':>8}{'prec.':>7}{'recall':>7}   "
          "stress: worst family ROC AUC / R@1%FPR (family)")  # fmt: skip
    for name, knobs in VARIANTS.items():
        with tempfile.TemporaryDirectory() as store:
            settings = TrainSettings(data=files, model_store=store, progress=False, plots=False, **knobs)
            outcome = pipeline.run(settings)
            stress = _stress(store, outcome.report_prefix)
        for result in outcome.results:
            h = result.best.holdout
            families = {k: v for k, v in stress[result.feature_set.name].items() if k != "none"}
            auc_family = min(families, key=lambda f: families[f]["roc_auc"])
            recall_family = min(families, key=lambda f: families[f]["recall_at_fpr_1pct"])
            print(f"{name:<22}{result.feature_set.name:<8}{h['pr_auc']:>8.4f}{h['precision']:>7.3f}"
                  f"{h['recall']:>7.3f}   {families[auc_family]['roc_auc']:.3f} ({auc_family}) / "
                  f"{families[recall_family]['recall_at_fpr_1pct']:.3f} ({recall_family})")  # fmt: skip
    return 0


def _stress(store: str, prefix: str) -> dict[str, dict[str, dict[str, float]]]:
    import json

    metrics = json.loads((Path(store) / prefix / "metrics.json").read_text())
    result: dict[str, dict[str, dict[str, float]]] = metrics["stress"]
    return result


if __name__ == "__main__":
    raise SystemExit(main())
