"""The training pipeline: load and validate -> split by time -> preprocess (as a stream: prepare.py) -> train
both libraries per feature set -> threshold on validation -> the evasion band's model (evasion.py) ->
evaluate on the holdout through the Scorer -> report -> publish.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from fraud_model import constants
from fraud_model.artifact import LoadedVersion, Metadata, new_version_id
from fraud_model.features import FEATURE_SETS, FeatureSet
from fraud_model.forest import sigmoid
from fraud_model.metrics import pr_auc, roc_auc
from fraud_model.scorer import Scorer
from fraud_model.store import Store, open_store
from training_job import cluster, evaluate, evasion, prepare, report, stress
from training_job.config import TrainSettings
from training_job.load import S3Reader
from training_job.prepare import Splits
from training_job.publish import build_version, candidate_version, git_commit, publish_version
from training_job.results import Candidate, FeatureSetResult
from training_job.threshold import ThresholdPolicy, choose_threshold
from training_job.train import BoostParams, Matrix, early_stopping_set, train

log = logging.getLogger(__name__)

FEATURE_SETS_TRAINED: tuple[FeatureSet, ...] = tuple(FEATURE_SETS.values())  # every set the contract declares


@dataclass
class Outcome:
    """A finished training run."""

    version: str
    promoted: bool
    store_uri: str
    report_prefix: str
    metadata: Metadata
    results: list[FeatureSetResult]
    timings: dict[str, float] = field(default_factory=dict)


def run(settings: TrainSettings, *, store: Store | None = None, s3: S3Reader | None = None) -> Outcome:
    """Train, evaluate, report and publish one model version; raises FraudError subclasses on bad input."""
    with (
        _engine(settings) as client,  # first: an unreachable cluster fails before the data is read
        tempfile.TemporaryDirectory(prefix="fraud-train-") as scratch,  # the streamed rows' local files
    ):
        return _run(settings, store or open_store(settings.model_store), s3, Path(scratch), client)


@contextmanager
def _engine(settings: TrainSettings) -> Iterator[Any]:
    """The Dask cluster's client when one is set (FRAUD_DASK_CLUSTER, --cluster), else None: in-process."""
    if not settings.dask_cluster:
        yield None
        return
    if "lightgbm" in settings.libraries:
        log.warning("on a Dask cluster only xgboost trains: lightgbm is skipped (docs/training.md)")
    with cluster.connect(settings.dask_cluster) as client:
        log.info("training xgboost on the Dask cluster at %s", settings.dask_cluster)
        yield client


def _run(settings: TrainSettings, store: Store, s3: S3Reader | None, scratch: Path, client: Any) -> Outcome:
    timings: dict[str, float] = {}
    version = new_version_id()
    report_prefix = f"{constants.REPORTS_PREFIX}/{version}"
    with _timed(timings, "load"):
        loaded = prepare.load(settings, scratch, s3, client)
        quarantine = loaded.quarantine
        if quarantine.bad:  # written even when the job then fails: the operator needs to see the rows
            store.write(f"{report_prefix}/quarantine.csv.gz", quarantine.to_csv_gz())
        quarantine.check(settings.max_bad_share, where=f"{store.uri}/{report_prefix}/quarantine.csv.gz")
    context: dict[str, Any] = {
        "version": version,
        "data": loaded.sources,
        "quarantine": quarantine.summary(),
    }
    with _timed(timings, "split"):
        splits = prepare.split(loaded, settings, context, scratch)
    # The shipped models train without the band's evasive copies (the stream's tail); FRAUD_EVASIVE_COPIES
    # puts copies in the shipped models' own training rows instead.
    shipped = splits.train if settings.evasive_copies else splits.train.plain()
    weighting = evasion.weighting(shipped, settings)
    spw, offset, positives, negatives = weighting.scale_pos_weight, weighting.logit_offset, *weighting.counts
    params, policy = _boost_params(settings, spw), _threshold_policy(settings)
    results = []
    for feature_set in FEATURE_SETS_TRAINED:
        with _timed(timings, f"train_{feature_set.name}"):
            result = _feature_set(
                feature_set, replace(splits, train=shipped), params, offset, policy, settings, client
            )
        if settings.band:
            with _timed(timings, f"train_{feature_set.name}_evasion"):
                result.evasion = evasion.train_evasion(
                    feature_set, result.champion, splits, params, settings, client
                )
        results.append(result)
    context["params"] = {
        **settings.model_dump(exclude={"data", "model_store", "git_commit", "dask_cluster"}),
        "scale_pos_weight": spw,
        "logit_offset": offset,
        "train_positives": int(positives) if positives.is_integer() else positives,
        "train_negatives": int(negatives) if negatives.is_integer() else negatives,
    }
    metadata, files = build_version(
        version,
        results,
        data=context["data"],
        params=context["params"],
        threshold_policy=_policy_record(policy),
        git_commit=git_commit(settings.git_commit),
        quarantine=context["quarantine"],
        splits=context["splits"],
        report=f"{report_prefix}/report.md",
        evasion_band=settings.evasion_band if settings.band else 0.0,
    )
    with _timed(timings, "stress"):  # the version as it will be published, through the API's Scorer
        scorer = Scorer(LoadedVersion(metadata=metadata, files=files))
        context["stress"] = stress.stress_test(scorer, splits.holdout)
        for result in results:  # the served score on the unchanged holdout (the band's cost, if any)
            if scorer.has_band(result.feature_set.name):
                p = evaluate.probabilities(scorer, result.feature_set.name, splits.holdout)
                result.served_holdout = evaluate.measure(
                    splits.holdout.labels, p, result.best.threshold.threshold, source=splits.holdout.source,
                    names=splits.names, natural_rate=policy.natural_fraud_rate,
                )  # fmt: skip
    with _timed(timings, "report"):
        context["timings"] = timings
        for name, data in report.build(metadata, results, context, plots=settings.plots).items():
            store.write(f"{report_prefix}/{name}", data)
    with _timed(timings, "publish"):
        publish_version(store, metadata, files, promote=settings.promote)
    return Outcome(version, settings.promote, store.uri, report_prefix, metadata, results, timings)


def _boost_params(settings: TrainSettings, scale_pos_weight: float) -> BoostParams:
    return BoostParams(
        max_rounds=settings.max_rounds,
        early_stopping_rounds=settings.early_stopping_rounds,
        learning_rate=settings.learning_rate,
        max_depth=settings.max_depth,
        scale_pos_weight=scale_pos_weight,
        threads=settings.threads,
        seed=settings.seed,
    )


def _threshold_policy(settings: TrainSettings) -> ThresholdPolicy:
    return ThresholdPolicy(
        name=settings.threshold_policy,
        target_precision=settings.target_precision,
        fixed_threshold=settings.fixed_threshold,
        natural_fraud_rate=settings.natural_fraud_rate,
        recall_tolerance_se=settings.recall_tolerance_se,
    )


def _policy_record(policy: ThresholdPolicy) -> dict[str, Any]:
    """The threshold policy as recorded in the metadata."""
    return {
        **asdict(policy),
        "chosen_on": "validation",
        "precision_weighting": "negatives of source s weigh max(1, P_s(1-pi)/(N_s pi))",
    }


def _feature_set(
    feature_set: FeatureSet,
    splits: Splits,
    params: BoostParams,
    offset: float,
    policy: ThresholdPolicy,
    settings: TrainSettings,
    client: Any = None,
) -> FeatureSetResult:
    """Each library on one feature set; the champion is the better natural-rate PR AUC on validation."""
    features = list(feature_set.features)
    train_set = prepare.train_data(splits.train, feature_set)  # batch by batch, or on the workers
    if settings.monotone:
        params = replace(params, monotone=feature_set.monotone())
    # thresholds and the champion are judged at the natural rate (splits.validation_weights)
    x, labels = feature_set.compute(splits.validation.columns), splits.validation.labels
    valid_set = early_stopping_set(x, labels, params.scale_pos_weight)
    candidates: dict[str, Candidate] = {}
    for library in settings.trained_libraries():
        trained = train(
            library,
            features,
            train_set,
            valid_set,
            params,
            label=feature_set.name,
            progress=settings.progress,
            cluster=client,
        )
        candidates[library] = _judge(trained, valid_set, splits.validation_weights, offset, policy)
    del train_set
    champion = max(candidates, key=lambda library: candidates[library].validation["pr_auc"])
    result = FeatureSetResult(feature_set, candidates, champion, offset, holdout_labels=splits.holdout.labels)
    for candidate in candidates.values():
        version = candidate_version(
            feature_set, candidate.trained, threshold=candidate.threshold.threshold, logit_offset=offset
        )
        p = evaluate.probabilities(Scorer(version), feature_set.name, splits.holdout)
        candidate.holdout_probabilities = p
        candidate.holdout = evaluate.measure(
            splits.holdout.labels,
            p,
            candidate.threshold.threshold,
            source=splits.holdout.source,
            names=splits.names,
            natural_rate=policy.natural_fraud_rate,
        )
    result.verify_max_diff = evasion.verify_export(
        result.best.trained, feature_set, splits.holdout, settings.verify_rows
    )
    log.info(
        "%s: champion %s (validation PR AUC %.4f), holdout PR AUC %.4f",
        feature_set.name,
        champion,
        result.best.validation["pr_auc"],
        result.best.holdout["pr_auc"],
    )
    return result


def _judge(
    trained: Any, valid_set: Matrix, weights: np.ndarray, offset: float, policy: ThresholdPolicy
) -> Candidate:
    """Threshold and validation figures from the native booster (the export agrees to 1e-5, see _verify)."""
    p = sigmoid(trained.native_margin(valid_set.x) + offset)
    y = valid_set.y
    choice = choose_threshold(y, p, weights, policy)
    validation = {
        "pr_auc": pr_auc(y, p, weights),
        "pr_auc_raw": pr_auc(y, p),
        "roc_auc": roc_auc(y, p, weights),
        "rows": int(y.size),
        "frauds": int(y.sum()),
    }
    return Candidate(trained, choice, validation)


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(time.perf_counter() - start, 3)
        log.info("%s took %.1f s", name, timings[name])
