"""Tiny real models for tests: generated data, a few boosting rounds, published through the real contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import numpy as np

from fraud_model import artifact
from fraud_model.errors import StoreError
from fraud_model.features import FEATURE_SETS
from fraud_model.forest import Forest, from_lightgbm_dump, from_xgboost_json
from fraud_model.schema import SCHEMA_VERSION, TYPE, TYPE_CODES
from fraud_model.store import LocalStore, Store
from training_job.generator import generate


def generated_columns(rows: int = 20_000, *, seed: int = 0) -> dict[str, np.ndarray]:
    """Generator output with `type` as integer codes, the form FeatureSet.compute expects."""
    columns = generate(rows, fraud_rate=0.02, seed=seed)
    columns[TYPE] = np.array([TYPE_CODES[t] for t in columns[TYPE]], dtype=np.int8)
    return columns


def train_native(
    library: Literal["xgboost", "lightgbm"], features: np.ndarray, labels: np.ndarray, rounds: int
) -> tuple[bytes, Forest, np.ndarray]:
    """(native model bytes, calibrated forest export, native margins on `features`)."""
    if library == "xgboost":
        import xgboost

        params = {"objective": "binary:logistic", "max_depth": 4, "nthread": 1, "seed": 0}
        booster = xgboost.train(params, xgboost.DMatrix(features, labels), rounds)
        margin = booster.predict(xgboost.DMatrix(features), output_margin=True)
        forest = from_xgboost_json(json.loads(bytes(booster.save_raw("json"))), features.shape[1])
        native = bytes(booster.save_raw("ubj"))
    else:
        import lightgbm

        params = {"objective": "binary", "max_depth": 4, "num_leaves": 15, "num_threads": 1, "verbose": -1}
        lgb_booster = lightgbm.train(params, lightgbm.Dataset(features, labels), rounds)
        margin = lgb_booster.predict(features, raw_score=True)
        forest = from_lightgbm_dump(lgb_booster.dump_model())
        native = lgb_booster.model_to_string().encode()
    return native, forest.calibrated(features[:200], margin[:200]), margin


def publish_tiny_version(
    store: Store,
    *,
    seed: int = 0,
    rows: int = 20_000,
    rounds: int = 20,
    library: Literal["xgboost", "lightgbm"] = "xgboost",
    threshold: float = 0.5,
    make_current: bool = True,
    band: float = 0.0,
) -> str:
    """Train one tiny model per feature set and publish them as one version; returns the version id.

    `band` > 0: beside each, an evasion model (trained on other generated rows) serving that band."""
    columns = generated_columns(rows, seed=seed)
    labels = columns["isFraud"].astype(np.float32)
    other = generated_columns(rows, seed=seed + 1) if band else {}
    version = artifact.new_version_id()
    files: dict[str, bytes] = {}
    models: dict[str, artifact.FeatureSetModel] = {}
    suffix = "ubj" if library == "xgboost" else "txt"
    for name, feature_set in FEATURE_SETS.items():
        features = feature_set.compute(columns)
        native, forest, _ = train_native(library, features, labels, rounds)
        files[f"{name}.{library}.{suffix}"] = native
        files[f"{name}.forest.npz"] = forest.to_bytes()
        models[name] = artifact.FeatureSetModel(
            feature_set=name,
            features=list(feature_set.features),
            inputs=list(feature_set.inputs),
            library=library,
            native_file=f"{name}.{library}.{suffix}",
            forest_file=f"{name}.forest.npz",
            threshold=threshold,
        )
        if band:
            native, forest, _ = train_native(library, feature_set.compute(other), other["isFraud"], rounds)
            files[f"{name}.evasion.{library}.{suffix}"] = native
            files[f"{name}.evasion.forest.npz"] = forest.to_bytes()
            models[name].evasion = artifact.EvasionModel(
                library=library,
                native_file=f"{name}.evasion.{library}.{suffix}",
                forest_file=f"{name}.evasion.forest.npz",
            )
    metadata = artifact.Metadata(
        schema_version=SCHEMA_VERSION,
        version=version,
        created_at="2026-11-29T00:00:00+00:00",
        models=models,
        evasion_band=band,
    )
    return artifact.publish(store, metadata, files, make_current=make_current)


class FailingStore(LocalStore):
    """A local store whose n-th write fails, as a full disk or S3 going away mid-publish would."""

    def __init__(self, root: Path, fail_on: int) -> None:
        super().__init__(root)
        self.writes, self.fail_on = 0, fail_on

    def write(self, key: str, data: bytes) -> None:
        self.writes += 1
        if self.writes == self.fail_on:
            raise StoreError(f"simulated failure writing {key}")
        super().write(key, data)
