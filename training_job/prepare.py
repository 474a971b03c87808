"""Load, validate, split and preprocess as a stream (the two passes of stream.py): what training reads.

Pass 1 validates every input and keeps four summary columns (step, amount, label, source: 15 bytes a row,
freed before training); the time split's cuts, the outlier measurement and the outlier policy's fences come
from them exactly as from the full columns. Pass 2 writes the training rows to a local file in batches.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fraud_model.features import FeatureSet
from training_job import augment
from training_job.config import TrainSettings
from training_job.dataset import Dataset, generated_batches, valid_batches
from training_job.errors import TrainingError
from training_job.feed import Streamed
from training_job.load import S3Reader
from training_job.preprocess import keep_rows, measure_outliers
from training_job.split import TRAIN, StepCuts, assign_splits, describe
from training_job.stream import Summary, TrainStream, partition, spill
from training_job.threshold import natural_rate_weights
from training_job.train import TrainData
from training_job.validate import Quarantine

if TYPE_CHECKING:
    from training_job.cluster_data import ClusterLoaded, ClusterTrain

log = logging.getLogger(__name__)


@dataclass
class Read:
    """What pass 1 tells about the inputs, wherever it ran: their fingerprints and the quarantine."""

    sources: list[dict[str, Any]]
    quarantine: Quarantine

    @property
    def names(self) -> list[str]:
        return [source["uri"] for source in self.sources]


@dataclass
class Loaded(Read):
    """Pass 1 in-process: the valid rows spilled to `path` and their summary (released once planned)."""

    path: Path = Path()
    summary: Summary | None = None


@dataclass
class Splits:
    train: TrainStream | ClusterTrain  # a local file of batches, or the Dask workers' partitions
    validation: Dataset
    holdout: Dataset
    validation_weights: np.ndarray
    names: list[str]


def load(
    settings: TrainSettings, scratch: Path, s3: S3Reader | None = None, cluster: Any = None
) -> Loaded | ClusterLoaded:
    """Pass 1: read and validate every input (or the generated demo data) once; on the workers of the Dask
    cluster whose `distributed.Client` is `cluster`, if given (cluster_data.py)."""
    if cluster is not None:
        from training_job import cluster_data

        return cluster_data.load(cluster, settings, s3)
    quarantine = Quarantine()
    sources: list[dict[str, Any]] = []
    if settings.data:
        batches = valid_batches(settings.data, quarantine, sources, progress=settings.progress, s3=s3)
    else:
        log.info(
            "no data given: generating %d rows (seed %d)", settings.generate_rows, settings.generate_seed
        )
        batches = generated_batches(
            settings.generate_rows,
            fraud_rate=settings.generate_fraud_rate,
            seed=settings.generate_seed,
            quarantine=quarantine,
            fingerprints=sources,
            batch_rows=settings.batch_rows,
        )
    path = scratch / "valid.arrow"
    with _local_files(scratch):
        summary = spill(batches, path)
    return Loaded(sources, quarantine, path=path, summary=summary)


def split(
    loaded: Loaded | ClusterLoaded, settings: TrainSettings, context: dict[str, Any], scratch: Path
) -> Splits:
    """Each source split by its own steps (pass 2); the outlier measurement and split sizes go into
    `context`. The summary columns and the spill of pass 1 are released once used."""
    if not isinstance(loaded, Loaded):
        from training_job import cluster_data

        return cluster_data.split(loaded, settings, context)
    if loaded.summary is None:
        raise ValueError("these loaded rows were split already")
    cuts, keep = _plan(loaded.summary, loaded.names, settings, context)
    loaded.summary = None
    copies = settings.copy_rounds  # the shipped models' copies, or the band's: the stream's tail
    draw = (lambda frauds: augment.changed_copies(frauds, copies, seed=settings.seed)) if copies else None
    with _local_files(scratch):
        train, validation, holdout = partition(
            loaded.path,
            cuts,
            scratch / "train.arrow",
            batch_rows=settings.batch_rows,
            keep=keep,
            copies=draw,
            copy_weight=settings.evasive_weight,
            sources=loaded.sources,
        )
        loaded.path.unlink()
    weights = natural_rate_weights(validation.labels, validation.source, settings.natural_fraud_rate)
    return Splits(train, validation, holdout, weights, loaded.names)


def train_data(train: TrainStream | ClusterTrain, feature_set: FeatureSet) -> TrainData:
    """One feature set's training matrix, computed batch by batch (in-process) or on the workers."""
    if isinstance(train, TrainStream):
        return Streamed(train, feature_set)
    from training_job.cluster_data import ClusterFeatures

    return ClusterFeatures(train, feature_set)


@contextmanager
def _local_files(scratch: Path) -> Iterator[None]:
    """A full or unwritable temporary directory is one readable line, not a traceback."""
    try:
        yield
    except OSError as exc:
        raise TrainingError(
            f"cannot write the streamed training rows under {scratch}: {exc} (free space there or set TMPDIR)"
        ) from exc


def _plan(
    summary: Summary, names: list[str], settings: TrainSettings, context: dict[str, Any]
) -> tuple[list[StepCuts], np.ndarray | None]:
    """Each source's cuts and the training rows the outlier policy keeps (None: all), from the summary."""
    steps, labels = summary.steps, summary.labels
    codes, cuts = assign_splits(steps, summary.source, settings.train_share, settings.validation_share, names)
    context["splits"] = describe(codes, summary.source, labels, steps, names, cuts)
    context["outliers"] = {
        "policy": settings.outlier_policy,
        "measured": measure_outliers(summary.amount, labels, summary.source, names),
    }
    keep = keep_rows(
        settings.outlier_policy, summary.amount[codes == TRAIN]
    )  # fences from training rows only
    if keep.all():
        return cuts, None
    log.warning("outlier policy %s drops %d training rows", settings.outlier_policy, int((~keep).sum()))
    return cuts, keep
