"""Turn training results into a model version (native files, forest exports, metadata) and publish it.

fraud_model.artifact.publish writes every file, then the manifest, verifies them, and moves the pointer last.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

from fraud_model.artifact import EvasionModel, FeatureSetModel, LoadedVersion, Metadata, publish
from fraud_model.features import FeatureSet
from fraud_model.schema import SCHEMA_VERSION
from fraud_model.store import Store
from training_job.results import FeatureSetResult
from training_job.train import Trained

log = logging.getLogger(__name__)

_MODULES = ("numpy", "xgboost", "lightgbm", "pyarrow", "pydantic")


def native_file(feature_set: str, library: str, *, evasion: bool = False) -> str:
    return f"{feature_set}{'.evasion' * evasion}.{library}.{'ubj' if library == 'xgboost' else 'txt'}"


def forest_file(feature_set: str, library: str, *, evasion: bool = False) -> str:
    return f"{feature_set}{'.evasion' * evasion}.{library}.forest.npz"


def feature_set_model(
    feature_set: FeatureSet,
    trained: Trained,
    *,
    threshold: float,
    logit_offset: float,
    metrics: dict[str, dict[str, Any]] | None = None,
    **extra: Any,
) -> FeatureSetModel:
    return FeatureSetModel(
        feature_set=feature_set.name,
        features=list(feature_set.features),
        inputs=list(feature_set.inputs),
        library=trained.library,  # type: ignore[arg-type]
        native_file=native_file(feature_set.name, trained.library),
        forest_file=forest_file(feature_set.name, trained.library),
        threshold=threshold,
        logit_offset=logit_offset,
        metrics=metrics or {},
        **extra,
    )


def model_files(feature_set: str, trained: Trained, *, evasion: bool = False) -> dict[str, bytes]:
    return {
        native_file(feature_set, trained.library, evasion=evasion): trained.native,
        forest_file(feature_set, trained.library, evasion=evasion): trained.forest.to_bytes(),
    }


def evasion_model(feature_set: str, result: FeatureSetResult) -> EvasionModel | None:
    """The metadata of a feature set's evasion model (None when the run trained none)."""
    if result.evasion is None:
        return None
    trained = result.evasion.trained
    return EvasionModel(
        library=trained.library,  # type: ignore[arg-type]
        native_file=native_file(feature_set, trained.library, evasion=True),
        forest_file=forest_file(feature_set, trained.library, evasion=True),
        logit_offset=result.evasion.logit_offset,
        **{
            "trees": trained.trees,
            "rounds": trained.rounds,
            "booster_params": trained.params,
            "forest_max_diff": result.evasion.verify_max_diff,
        },  # fmt: skip
    )


def candidate_version(
    feature_set: FeatureSet, trained: Trained, *, threshold: float, logit_offset: float
) -> LoadedVersion:
    """An in-memory, unpublished version holding one model: what the Scorer needs to evaluate a candidate."""
    spec = feature_set_model(feature_set, trained, threshold=threshold, logit_offset=logit_offset)
    metadata = Metadata(
        schema_version=SCHEMA_VERSION, version="candidate", created_at=_now(), models={feature_set.name: spec}
    )
    return LoadedVersion(metadata=metadata, files=model_files(feature_set.name, trained))


def build_version(
    version: str,
    results: list[FeatureSetResult],
    *,
    threshold_policy: dict[str, Any],
    data: list[dict[str, Any]],
    params: dict[str, Any],
    git_commit: str | None,
    **extra: Any,
) -> tuple[Metadata, dict[str, bytes]]:
    """Metadata and files of a version holding each feature set's champion, in order of preference."""
    models: dict[str, FeatureSetModel] = {}
    files: dict[str, bytes] = {}
    for result in results:
        best = result.best
        models[result.feature_set.name] = feature_set_model(
            result.feature_set,
            best.trained,
            threshold=best.threshold.threshold,
            logit_offset=result.logit_offset,
            metrics=result.metrics(),
            trees=best.trained.trees,
            forest_max_diff=result.verify_max_diff,
            booster_params=best.trained.params,
            evasion=evasion_model(result.feature_set.name, result),
        )
        files.update(model_files(result.feature_set.name, best.trained))
        if result.evasion is not None:
            files.update(model_files(result.feature_set.name, result.evasion.trained, evasion=True))
    metadata = Metadata(
        schema_version=SCHEMA_VERSION,
        version=version,
        created_at=_now(),
        models=models,
        threshold_policy=threshold_policy,
        library_versions=library_versions(),
        data=data,
        params=params,
        git_commit=git_commit,
        **extra,
    )
    return metadata, files


def publish_version(store: Store, metadata: Metadata, files: dict[str, bytes], *, promote: bool) -> str:
    version = publish(store, metadata, files, make_current=promote)
    log.info(
        "published %s to %s%s", version, store.uri, " and made it current" if promote else " (not promoted)"
    )
    return version


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _MODULES:
        versions[name] = str(getattr(importlib.import_module(name), "__version__", "unknown"))
    with contextlib.suppress(package_metadata.PackageNotFoundError):
        versions["fraud-detection"] = package_metadata.version("fraud-detection")
    return versions


def git_commit(configured: str | None) -> str | None:
    """FRAUD_GIT_COMMIT when set (the container has no .git), else `git rev-parse HEAD`, else None."""
    if configured:
        return configured
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
