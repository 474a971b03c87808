"""Issue 15, a design measured before it is built: the shipped model (monotone) plus an evasion model
(monotone, trained with the evasive copies) combined as max(p_main, c * threshold * p_evasion), c < 1. The
evasion model lifts near-drains into a band under the block threshold, so what is blocked (and precision and
recall at the threshold, on any data) is exactly the shipped model's, while the ranking of changed frauds
against legitimate traffic is the evasion model's. Both files of ../shared/data/paysim (holdout: unchanged PR
AUC and the stress test, per family ROC AUC / recall at 1% FPR, combined and shipped alone), then trained on
the simulator file and scored on the Kaggle file (the transfer the evasive copies alone lost).

    .venv/bin/python benchmarks/train_evasion_band.py [--band 0.9] [--data DIR]      (~10 minutes)
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from fraud_model import artifact
from fraud_model.features import FEATURE_SETS
from fraud_model.metrics import pr_auc
from fraud_model.scorer import Scorer
from fraud_model.store import LocalStore
from training_job import pipeline, stress
from training_job.config import TrainSettings
from training_job.dataset import Dataset, load_dataset
from training_job.evaluate import present_mask

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "paysim"
FILES = ("simulator_seed1001_30steps.csv.gz", "kaggle_samples.csv.gz")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--band", type=float, default=0.9, help="c: the band's top, as a share of the threshold"
    )
    args = parser.parse_args()
    simulator, kaggle = (args.data / name for name in FILES)
    if not simulator.exists() or not kaggle.exists():
        print(f"needs {', '.join(FILES)} in {args.data}", file=sys.stderr)
        return 2
    logging.disable(logging.WARNING)
    main_model, settings = _train([simulator, kaggle], copies=0)
    evasion, _ = _train([simulator, kaggle], copies=1)
    dataset, _ = load_dataset(settings.data, progress=False)
    holdout = pipeline._split(dataset, settings, {}).holdout  # noqa: SLF001 - the run's own holdout
    for name in main_model.feature_sets:
        _holdout_report(main_model, evasion, holdout, name, args.band)
    main_model, _ = _train([simulator], copies=0)
    evasion, _ = _train([simulator], copies=1)
    other, _ = load_dataset([str(kaggle)], progress=False)
    for name in main_model.feature_sets:
        columns, labels = _rows(other, name)
        combined, alone = _combined(main_model, evasion, name, columns, args.band)
        threshold = main_model.model(name).threshold
        recall, recall_alone = np.mean(combined[labels] >= threshold), np.mean(alone[labels] >= threshold)
        print(f"simulator -> Kaggle {name}: PR AUC {pr_auc(labels, combined):.4f} (shipped alone "
              f"{pr_auc(labels, alone):.4f}); recall at the threshold {recall:.3f} (alone "
              f"{recall_alone:.3f}); precision {np.mean(labels[combined >= threshold]):.3f}")  # fmt: skip
    return 0


def _train(files: list[Path], *, copies: int) -> tuple[Scorer, TrainSettings]:
    store = tempfile.mkdtemp(prefix="evasion_band_")
    settings = TrainSettings(data=[str(f) for f in files], model_store=store, progress=False, plots=False,
                             monotone=True, evasive_copies=copies)  # fmt: skip
    pipeline.run(settings)
    local = LocalStore(store)
    return Scorer(artifact.load_version(local, artifact.read_pointer(local))), settings


def _rows(dataset: Dataset, name: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    present = present_mask(dataset, FEATURE_SETS[name].inputs)
    columns = {c: dataset.columns[c][present] for c in FEATURE_SETS[name].inputs}
    return columns, dataset.labels.astype(bool)[present]


def _combined(main: Scorer, evasion: Scorer, name: str, columns: Any, band: float) -> tuple[Any, Any]:
    alone = main.probabilities(name, columns)
    top = band * main.model(name).threshold
    return np.maximum(alone, top * evasion.probabilities(name, columns)), alone


def _holdout_report(main: Scorer, evasion: Scorer, holdout: Dataset, name: str, band: float) -> None:
    columns, labels = _rows(holdout, name)
    frauds = {c: v[labels] for c, v in columns.items()}
    legit = {c: v[~labels] for c, v in columns.items()}
    threshold = main.model(name).threshold
    legit_combined, legit_alone = _combined(main, evasion, name, legit, band)
    scores, alone = _combined(main, evasion, name, columns, band)
    print(f"both files, {name}: unchanged holdout PR AUC {pr_auc(labels, scores):.4f} (shipped alone "
          f"{pr_auc(labels, alone):.4f}), precision {np.mean(labels[scores >= threshold]):.3f}, recall "
          f"{np.mean(scores[labels] >= threshold):.3f}")  # fmt: skip
    print(f"  {'family':<16}{'ROC AUC':>9}{'R@1%FPR':>9}{'alone: ROC AUC':>16}{'R@1%FPR':>9}")
    for family, change in stress.FAMILIES.items():
        changed = change(frauds)
        combined, changed_alone = _combined(main, evasion, name, changed, band)
        m = stress._measure(combined, legit_combined, threshold)  # noqa: SLF001
        a = stress._measure(changed_alone, legit_alone, threshold)  # noqa: SLF001
        print(f"  {family:<16}{m['roc_auc']:>9.3f}{m['recall_at_fpr_1pct']:>9.3f}"
              f"{a['roc_auc']:>16.3f}{a['recall_at_fpr_1pct']:>9.3f}")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
