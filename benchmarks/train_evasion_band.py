"""Issue 15's evasion band, as built: `fraud train` with its defaults publishes, per feature set, the shipped
model (monotone) and an evasion model (monotone, trained with the band's rounds of evasive copies), served as
max(p_shipped, e × top / (top + e)), top = c × threshold. Both files of ../shared/data/paysim: the unchanged
holdout (served and shipped alone) and the run's own stress test (metrics.json), per family ROC AUC /
recall at 1% FPR with the band and without; then trained on the simulator file and scored on the Kaggle file.

    .venv/bin/python benchmarks/train_evasion_band.py [--band 0.9] [--data DIR]      (~6 minutes)
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np

from fraud_model import artifact
from fraud_model.features import FEATURE_SETS
from fraud_model.metrics import pr_auc
from fraud_model.scorer import Scorer
from fraud_model.store import LocalStore
from training_job import pipeline
from training_job.config import TrainSettings
from training_job.dataset import load_dataset
from training_job.evaluate import present_mask

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "paysim"
FILES = ("simulator_seed1001_30steps.csv.gz", "kaggle_samples.csv.gz")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--band", type=float, default=0.9, help="c: the band's top, a share of the threshold")
    args = parser.parse_args()
    simulator, kaggle = (args.data / name for name in FILES)
    if not simulator.exists() or not kaggle.exists():
        print(f"needs {', '.join(FILES)} in {args.data}", file=sys.stderr)
        return 2
    logging.disable(logging.WARNING)
    outcome, scorer = _train([simulator, kaggle], args.band)
    metrics = json.loads((Path(outcome.store_uri) / outcome.report_prefix / "metrics.json").read_text())
    for name, figures in metrics["feature_sets"].items():
        shipped, served = figures["models"][figures["champion"]]["holdout"], figures["served_with_band"]
        evasion = scorer.metadata.models[name].evasion
        trees = evasion.model_extra.get("trees") if evasion and evasion.model_extra else None
        print(f"both files, {name} ({figures['champion']}, evasion model {trees} trees): unchanged holdout "
              f"PR AUC {served['pr_auc']:.4f} (shipped alone {shipped['pr_auc']:.4f}), precision "
              f"{served['precision']:.3f}, recall {served['recall']:.3f} (alone {shipped['precision']:.3f}, "
              f"{shipped['recall']:.3f}) at threshold {figures['threshold']:.4g}")  # fmt: skip
        print(
            f"  {'family':<16}{'recall':>8}{'ROC AUC':>9}{'R@1%FPR':>9}{'alone: ROC AUC':>16}{'R@1%FPR':>9}"
        )
        for family, m in metrics["stress"][name].items():
            a = m["shipped"]
            print(f"  {family:<16}{m['recall']:>8.3f}{m['roc_auc']:>9.3f}{m['recall_at_fpr_1pct']:>9.3f}"
                  f"{a['roc_auc']:>16.3f}{a['recall_at_fpr_1pct']:>9.3f}")  # fmt: skip
    _, scorer = _train([simulator], args.band)
    other, _ = load_dataset([str(kaggle)], progress=False)
    for name in scorer.feature_sets:
        present = present_mask(other, FEATURE_SETS[name].inputs)
        columns = {c: other.columns[c][present] for c in FEATURE_SETS[name].inputs}
        labels = other.labels.astype(bool)[present]
        served, alone = scorer.probabilities(name, columns), scorer.probabilities(name, columns, band=False)
        t = scorer.model(name).threshold
        print(f"simulator -> Kaggle {name}: PR AUC {pr_auc(labels, served):.4f} (shipped alone "
              f"{pr_auc(labels, alone):.4f}); recall at the threshold {np.mean(served[labels] >= t):.3f} "
              f"(alone {np.mean(alone[labels] >= t):.3f}); precision {np.mean(labels[served >= t]):.3f} "
              f"(alone {np.mean(labels[alone >= t]):.3f})")  # fmt: skip
    return 0


def _train(files: list[Path], band: float) -> tuple[pipeline.Outcome, Scorer]:
    store = tempfile.mkdtemp(prefix="evasion_band_")
    settings = TrainSettings(data=[str(f) for f in files], model_store=store, progress=False, plots=False,
                             evasion_band=band)  # fmt: skip
    outcome = pipeline.run(settings)
    local = LocalStore(store)
    return outcome, Scorer(artifact.load_version(local, artifact.read_pointer(local)))


if __name__ == "__main__":
    raise SystemExit(main())
