"""`fraud train --cluster`: the workers read, validate and split the data; the client holds no training row.

One partition per input file (as `fraud score --cluster`): each worker reads its files with the project's
reader (s3:// through the project's S3 client) and validation, and sends the client small summaries only: the
quarantine, the file's fingerprint, its rows and frauds per step (for the per-source step cuts and the split
table) and its outlier measurement. The client plans the cuts exactly as in-process; each worker then splits
its rows by its source's cuts, keeps the training rows and sends back validation and holdout (which the
threshold, the evaluation and the stress test need whole, as in-process) and the training labels (1 byte a
row, for the class counts). Each feature set's features are computed on the workers, where `xgboost.dask`
reads them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from fraud_model.errors import FraudError
from fraud_model.features import FeatureSet
from fraud_model.schema import LABEL, TIME
from training_job import augment
from training_job.cluster import ClusterError, absolute
from training_job.config import TrainSettings
from training_job.dataset import Dataset, generated_batches, valid_batches
from training_job.errors import TrainingError
from training_job.load import DataFile, S3Reader, resolve
from training_job.prepare import Read, Splits
from training_job.preprocess import measure_outliers
from training_job.split import HOLDOUT, TRAIN, VALIDATION, StepCuts, counted_cuts, describe_counts
from training_job.stream import SOURCE, as_dataset, typed
from training_job.threshold import natural_rate_weights
from training_job.validate import Quarantine

if TYPE_CHECKING:
    import xgboost as xgb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """One partition: an input file (local path made absolute, or s3://), or the seeded demo generator."""

    index: int
    file: DataFile | None = None
    generated: tuple[int, float, int, int] | None = None  # rows, fraud rate, seed, batch rows


@dataclass
class Part:
    """A partition as read on its worker: its valid rows, quarantine (plain fields) and fingerprint."""

    rows: Dataset
    quarantine: dict[str, Any]
    fingerprint: dict[str, Any]


@dataclass
class ClusterLoaded(Read):
    """Pass 1 on the cluster: the valid rows held by the workers (one future a file) and their summaries."""

    client: Any = None
    parts: list[Any] = field(default_factory=list)
    summaries: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ClusterTrain:
    """The training split held by the workers: one future a partition (a Dataset) and its row count; labels
    and weights (present only with evasive copies) on the client, as in-process (stream.TrainStream)."""

    client: Any
    parts: list[tuple[Any, int]]
    labels: np.ndarray
    weights: np.ndarray | None = None
    plain_parts: int | None = None  # None: no copies; else the copies are the partitions from here on

    def plain(self) -> ClusterTrain:
        """The training rows without the evasive copies (as stream.TrainStream.plain)."""
        if self.plain_parts is None:
            return self
        rows = sum(size for _, size in self.parts[: self.plain_parts])
        return ClusterTrain(self.client, self.parts[: self.plain_parts], self.labels[:rows])

    def __len__(self) -> int:
        return int(self.labels.size)


def load(client: Any, settings: TrainSettings, s3: S3Reader | None = None) -> ClusterLoaded:
    """Read and validate every input on the workers; the client lists the files (a wrong path fails here)."""
    if settings.data:
        sources = [
            Source(i, file) for i, file in enumerate(resolve([absolute(u) for u in settings.data], s3=s3))
        ]
    else:
        log.info("no data given: the cluster generates %d rows (seed %d)", settings.generate_rows,
                 settings.generate_seed)  # fmt: skip
        generated = (settings.generate_rows, settings.generate_fraud_rate, settings.generate_seed,
                     settings.batch_rows)  # fmt: skip
        sources = [Source(0, generated=generated)]
    with _failures():
        parts = client.map(read_part, sources, pure=False)
        summaries = client.gather(client.map(summarise, parts, pure=False))
    quarantine = Quarantine()
    for summary in summaries:  # in file order, as in-process
        quarantine.merge(Quarantine.from_dict(summary["quarantine"]))
    fingerprints = [summary["fingerprint"] for summary in summaries]
    log.info("read %d partitions on the Dask cluster", len(parts))
    return ClusterLoaded(fingerprints, quarantine, client=client, parts=parts, summaries=summaries)


def split(loaded: ClusterLoaded, settings: TrainSettings, context: dict[str, Any]) -> Splits:
    """Each source split by its own steps on its worker; the split table and outlier measurement go into
    `context`. The workers keep the training rows; the read partitions are released."""
    names, client = loaded.names, loaded.client
    cuts = [
        counted_cuts(s["steps"], s["rows"], settings.train_share, settings.validation_share, name=name)
        for s, name in zip(loaded.summaries, names, strict=True)
    ]
    context["splits"] = [
        describe_counts(name, cut, s["steps"], s["rows"], s["frauds"])
        for s, name, cut in zip(loaded.summaries, names, cuts, strict=True)
    ]
    measured: dict[str, Any] = {}
    for summary in loaded.summaries:
        measured.update(summary["outliers"])
    context["outliers"] = {"policy": settings.outlier_policy, "measured": measured}
    with _failures():
        train = client.map(train_rows, loaded.parts, cuts, pure=False)
        held = client.gather(client.map(held_rows, loaded.parts, cuts, pure=False))
        labels = client.gather(client.map(labels_of, train, pure=False))
        copies = _copies(client, train, settings, loaded.sources) if settings.copy_rounds else None
    loaded.parts = []  # the workers release the read rows (the training rows are their own futures)
    parts = [(future, y.size) for future, y in zip(train, labels, strict=True) if y.size]
    weights, plain_parts = None, None
    if copies is not None and len(copies):
        plain_parts = len(parts)
        parts.append((client.scatter(copies), len(copies)))
        labels.append(copies.labels)
        weights = np.r_[
            np.ones(sum(y.size for y in labels[:-1])), np.full(len(copies), settings.evasive_weight)
        ]
    stream = ClusterTrain(
        client, parts, np.concatenate(labels) if labels else np.empty(0, np.int8), weights, plain_parts
    )
    validation = _joined([v for v, _ in held], loaded.sources)
    holdout = _joined([h for _, h in held], loaded.sources)
    log.info("training rows held by the Dask workers: %d rows in %d partitions", len(stream), len(parts))
    vweights = natural_rate_weights(validation.labels, validation.source, settings.natural_fraud_rate)
    return Splits(stream, validation, holdout, vweights, names)


@dataclass(frozen=True)
class ClusterFeatures:
    """One feature set's training matrix, computed on the workers from the rows they hold (train.TrainData:
    it trains on the cluster only, train_cluster.py)."""

    train: ClusterTrain
    feature_set: FeatureSet

    @property
    def y(self) -> np.ndarray:
        return self.train.labels

    @property
    def weight(self) -> np.ndarray | None:
        return self.train.weights

    def collections(self) -> tuple[Any, Any, Any]:
        """Dask arrays of the features, labels and weights (or None), one chunk a partition, each computed
        on the worker that holds the partition."""
        import dask
        import dask.array as da

        width = len(self.feature_set.features)
        x = [da.from_delayed(dask.delayed(features_of)(part, self.feature_set), (rows, width), np.float32)
             for part, rows in self.train.parts]  # fmt: skip
        y = [
            da.from_delayed(dask.delayed(labels_of)(part), (rows,), np.int8)
            for part, rows in self.train.parts
        ]
        if self.weight is None:
            return da.concatenate(x), da.concatenate(y), None
        # every row of a partition weighs the same (1, or the copies' weight): made on the workers
        starts = np.cumsum([0] + [rows for _, rows in self.train.parts[:-1]])
        w = [
            da.full((rows,), self.weight[start], chunks=rows)
            for (_, rows), start in zip(self.train.parts, starts, strict=True)
        ]
        return da.concatenate(x), da.concatenate(y), da.concatenate(w)

    def feature_batches(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        """The features of each partition, fetched from its worker (what an in-process booster would read)."""
        start = 0
        for part, rows in self.train.parts:
            x = self.train.client.submit(features_of, part, self.feature_set).result()
            end = start + rows
            yield x, self.y[start:end], None if self.weight is None else self.weight[start:end]
            start = end

    def xgboost_matrix(self, nthread: int) -> xgb.QuantileDMatrix:
        raise TrainingError("training rows held by a Dask cluster train there (train_cluster.py), not here")

    def lightgbm_data(self) -> Any:
        raise TrainingError("LightGBM does not train on a Dask cluster (docs/training.md)")


# On a worker: functions of a partition (module level, so that they pickle by reference).


def read_part(source: Source) -> Part:
    """Read and validate one partition with the project's reader (s3:// through its S3 client)."""
    quarantine, fingerprints = Quarantine(), list[dict[str, Any]]()
    if source.file is not None:
        batches = valid_batches([source.file.uri], quarantine, fingerprints)
    else:
        rows, rate, seed, batch = source.generated or (0, 0.0, 0, 1)
        batches = generated_batches(rows, fraud_rate=rate, seed=seed, quarantine=quarantine,
                                    fingerprints=fingerprints, batch_rows=batch)  # fmt: skip
    pieces: dict[str, list[np.ndarray]] = {}
    for _, checked in batches:
        columns = typed(checked, source.index)
        if columns[LABEL].size:
            for name, values in columns.items():
                pieces.setdefault(name, []).append(values)
    return Part(as_dataset(pieces, None), quarantine.to_dict(), fingerprints[0])


def summarise(part: Part) -> dict[str, Any]:
    """What the client needs to plan the split: rows and frauds a step, the outlier measurement, and the
    partition's quarantine and fingerprint."""
    rows, name = part.rows, part.fingerprint["uri"]
    unique, index, counts = np.unique(rows.columns[TIME], return_inverse=True, return_counts=True)
    frauds = np.bincount(index, weights=rows.labels, minlength=unique.size).astype(np.int64)
    measured = measure_outliers(rows.columns["amount"], rows.labels, np.zeros(len(rows), np.int16), [name])
    return {"steps": unique, "rows": counts, "frauds": frauds, "outliers": measured,
            "quarantine": part.quarantine, "fingerprint": part.fingerprint}  # fmt: skip


def train_rows(part: Part, cut: StepCuts) -> Dataset:
    return part.rows.take(_codes(part.rows, cut) == TRAIN)


def held_rows(part: Part, cut: StepCuts) -> tuple[Dataset, Dataset]:
    """The partition's validation and holdout rows."""
    codes = _codes(part.rows, cut)
    return part.rows.take(codes == VALIDATION), part.rows.take(codes == HOLDOUT)


def labels_of(rows: Dataset) -> np.ndarray:
    return np.asarray(rows.labels, dtype=np.int8)


def features_of(rows: Dataset, feature_set: FeatureSet) -> np.ndarray:
    return feature_set.compute(rows.columns)


def eligible_of(rows: Dataset) -> Dataset:
    return rows.take(augment.eligible(rows.columns))


def _codes(rows: Dataset, cut: StepCuts) -> np.ndarray:
    steps = rows.columns[TIME]
    return np.where(
        steps <= cut.train_until, TRAIN, np.where(steps <= cut.validation_until, VALIDATION, HOLDOUT)
    )


def _copies(client: Any, train: list[Any], settings: TrainSettings, sources: list[dict[str, Any]]) -> Dataset:
    """The evasive copies of the eligible training frauds, drawn on the client as in-process (the frauds are
    few: they come back; the copies go out as one more partition)."""
    frauds = _joined(client.gather(client.map(eligible_of, train, pure=False)), sources)
    return augment.changed_copies(frauds, settings.copy_rounds, seed=settings.seed)


def _joined(parts: list[Dataset], sources: list[dict[str, Any]]) -> Dataset:
    """Partitions' rows as one Dataset, in partition (file) order."""
    pieces: dict[str, list[np.ndarray]] = {}
    for part in parts:
        if len(part):
            for name, values in {**part.columns, SOURCE: part.source}.items():
                pieces.setdefault(name, []).append(values)
    return as_dataset(pieces, sources)


@contextmanager
def _failures() -> Iterator[None]:
    """A worker's own error (a bad file) is the in-process line; anything else in the cluster is one line."""
    try:
        yield
    except FraudError:
        raise
    except Exception as exc:
        first = "".join(str(exc).strip().splitlines()[:1])
        raise ClusterError(
            f"the Dask cluster failed reading the data: {type(exc).__name__}: {first}"
        ) from exc
