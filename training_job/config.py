"""Training settings: `FRAUD_*` environment variables, overridden by `fraud train` options, checked once."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from fraud_model import constants

Library = Literal["xgboost", "lightgbm"]
ThresholdPolicyName = Literal["max_recall_at_precision", "max_f1", "fixed"]
OutlierPolicy = Literal["keep", "iqr"]
_CLASS_WEIGHTS = ("none", "sqrt", "balanced")


# The evasion model's rounds of copies (each: a remainder and a split piece of every training fraud). Measured
# on both real files (docs/training.md, *Evasion*): 1 round left `origin` at recall 0.75 at 1% FPR on a 20%
# remainder; 3 rounds reach 0.93 with the same unchanged-holdout figures.
BAND_COPY_ROUNDS = 3


class TrainSettings(BaseSettings):
    """Every knob of `fraud train` / `python -m training_job`; field `x_y` is read from `FRAUD_X_Y`."""

    model_config = SettingsConfigDict(
        env_prefix=constants.ENV_PREFIX, extra="ignore", frozen=True, protected_namespaces=()
    )

    # Inputs and output.
    data: Annotated[list[str], NoDecode] = []  # FRAUD_DATA: URIs separated by commas or whitespace
    model_store: str = Field(default_factory=constants.default_store_uri)
    promote: bool = True  # move models/CURRENT to the new version
    # The demo data set, used when no data URI is given.
    generate_rows: int = Field(default=200_000, ge=1_000)
    generate_fraud_rate: float = Field(default=constants.NATURAL_FRAUD_RATE, gt=0, lt=0.5)
    generate_seed: int = 7
    # Validation and preprocessing.
    max_bad_share: float = Field(
        default=0.01, ge=0, le=1
    )  # quarantined share of rows above which the job fails
    outlier_policy: OutlierPolicy = "keep"  # iqr: drop training rows outside Tukey fences on amount (harmful)
    train_share: float = Field(default=0.70, gt=0, lt=1)  # of each source's rows, by step
    validation_share: float = Field(default=0.15, gt=0, lt=1)
    # Training.
    libraries: Annotated[list[Library], NoDecode] = ["xgboost", "lightgbm"]
    class_weight: str = "sqrt"  # scale_pos_weight: none | sqrt | balanced | a number
    monotone: bool = True  # the monotone constraints of fraud_model.features.MONOTONE
    evasive_copies: int = Field(default=0, ge=0, le=10)  # changed copies of each training fraud (augment.py)
    evasive_weight: float = Field(default=1.0, gt=0, le=1)  # each copy's weight in training
    # c of the evasion band: serve max(shipped, e * top / (top + e)), e the evasion model's probability, top =
    # c * threshold; the evasion model trained with BAND_COPY_ROUNDS rounds of evasive copies beside each
    # shipped model (evasion.py); 0: no band, no evasion model
    evasion_band: float = Field(default=0.9, ge=0, lt=1)
    evasion_max_rounds: int = Field(default=100, ge=1)  # the evasion model's rounds at most: its serving cost
    max_rounds: int = Field(default=400, ge=1)
    early_stopping_rounds: int = Field(default=30, ge=1)
    learning_rate: float = Field(default=0.1, gt=0, le=1)
    max_depth: int = Field(default=6, ge=1, le=8)  # shallow trees: fast forest export, less overfitting
    threads: int = Field(default=0, ge=0)  # 0: every core
    batch_rows: int = Field(default=262_144, ge=1)  # training rows per streamed batch (stream.py, feed.py)
    seed: int = 42
    # FRAUD_DASK_CLUSTER (the name `fraud score` reads): a Dask scheduler address to train XGBoost on; unset:
    # in-process. LightGBM does not train there (docs/training.md, "On a Dask cluster").
    dask_cluster: str | None = None
    # Threshold and calibration.
    threshold_policy: ThresholdPolicyName = "max_recall_at_precision"
    target_precision: float = Field(default=0.95, gt=0, le=1)
    fixed_threshold: float | None = Field(default=None, ge=0, le=1)
    recall_tolerance_se: float = Field(default=1.0, ge=0)  # one-standard-error rule for the threshold
    natural_fraud_rate: float = Field(default=constants.NATURAL_FRAUD_RATE, gt=0, lt=0.5)
    # Output.
    verify_rows: int = Field(default=200_000, ge=1)  # holdout rows the forest export is verified on
    plots: bool = True
    progress: bool = True  # tqdm bars on stderr
    git_commit: str | None = None  # else `git rev-parse HEAD`, best effort

    @field_validator("data", "libraries", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item for item in re.split(r"[,\s]+", value) if item]
        return value

    @field_validator("libraries")
    @classmethod
    def _some_library(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one of xgboost, lightgbm")
        return list(dict.fromkeys(value))

    @field_validator("class_weight")
    @classmethod
    def _class_weight(cls, value: str) -> str:
        value = value.strip().lower()
        if value in _CLASS_WEIGHTS:
            return value
        try:
            if float(value) > 0:
                return value
        except ValueError:
            pass
        raise ValueError(
            f"class weight must be one of {', '.join(_CLASS_WEIGHTS)} or a positive number, got {value!r}"
        )

    @model_validator(mode="after")
    def _consistent(self) -> TrainSettings:
        if self.train_share + self.validation_share >= 1:
            raise ValueError("train_share + validation_share must leave a holdout (sum below 1)")
        if self.threshold_policy == "fixed" and self.fixed_threshold is None:
            raise ValueError("threshold policy 'fixed' needs fixed_threshold (FRAUD_FIXED_THRESHOLD)")
        if self.dask_cluster and self.outlier_policy != "keep":
            raise ValueError(
                "outlier policy iqr needs every training amount in one place, not on a Dask cluster: use keep"
            )
        if self.dask_cluster and "xgboost" not in self.libraries:
            raise ValueError(
                "a Dask cluster trains xgboost only: add xgboost to the libraries or drop the cluster"
            )
        return self

    @property
    def band(self) -> bool:
        """Whether this run trains evasion models: a band, and a shipped model without evasive copies (with
        them, the evasion model would be the shipped one again)."""
        return self.evasion_band > 0 and self.evasive_copies == 0

    @property
    def copy_rounds(self) -> int:
        """Rounds of evasive copies drawn from the training frauds: the shipped models' own
        (FRAUD_EVASIVE_COPIES), else the band's evasion models' (`BAND_COPY_ROUNDS`), else none."""
        return self.evasive_copies or (BAND_COPY_ROUNDS if self.band else 0)

    def trained_libraries(self) -> list[str]:
        """The libraries this run trains: on a Dask cluster XGBoost alone (lightgbm.dask is not used)."""
        return ["xgboost"] if self.dask_cluster else list(self.libraries)

    def scale_pos_weight(self, positives: float, negatives: float) -> float:
        """The positive-class weight for a training split with these counts."""
        ratio = negatives / max(positives, 1)
        return {"none": 1.0, "sqrt": ratio**0.5, "balanced": ratio}.get(self.class_weight) or float(
            self.class_weight
        )
