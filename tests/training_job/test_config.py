"""Settings come from FRAUD_* variables, and `fraud train` options take precedence over them."""

from __future__ import annotations

import argparse

import pytest
from pydantic import ValidationError

from training_job.commands import add_train_arguments, settings_from_args
from training_job.config import TrainSettings


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    return parser.parse_args(argv)


def test_settings_split_fraud_data_on_commas_and_whitespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUD_DATA", "a.csv, b.csv.gz\n s3://bucket/prefix/")
    assert TrainSettings().data == ["a.csv", "b.csv.gz", "s3://bucket/prefix/"]


def test_settings_read_fraud_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUD_TARGET_PRECISION", "0.8")
    monkeypatch.setenv("FRAUD_LIBRARIES", "lightgbm")
    monkeypatch.setenv("FRAUD_PROMOTE", "false")
    settings = TrainSettings()
    assert (settings.target_precision, settings.libraries, settings.promote) == (0.8, ["lightgbm"], False)


def test_options_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUD_DATA", "env.csv")
    monkeypatch.setenv("FRAUD_MAX_ROUNDS", "7")
    settings = settings_from_args(
        _args("--data", "a.csv", "--data", "b.csv", "--store", "s3://b/p", "--no-promote")
    )
    assert (settings.data, settings.model_store, settings.promote, settings.max_rounds) == (
        ["a.csv", "b.csv"],
        "s3://b/p",
        False,
        7,
    )


def test_settings_refuse_shares_that_leave_no_holdout() -> None:
    with pytest.raises(ValidationError, match="leave a holdout"):
        TrainSettings(train_share=0.8, validation_share=0.2)


def test_settings_refuse_the_iqr_outlier_policy_on_a_dask_cluster() -> None:
    """Its fences need every training amount in one place; the workers hold them apart."""
    with pytest.raises(ValidationError, match="not on a Dask cluster: use keep"):
        TrainSettings(outlier_policy="iqr", dask_cluster="tcp://127.0.0.1:8786")


def test_settings_refuse_an_unknown_class_weight() -> None:
    with pytest.raises(ValidationError, match="class weight"):
        TrainSettings(class_weight="heavy")


@pytest.mark.parametrize(
    ("class_weight", "expected"), [("none", 1.0), ("sqrt", 10.0), ("balanced", 100.0), ("3.5", 3.5)]
)
def test_scale_pos_weight_follows_the_class_weight_setting(class_weight: str, expected: float) -> None:
    assert TrainSettings(class_weight=class_weight).scale_pos_weight(10, 1000) == pytest.approx(expected)


def test_settings_train_the_evasion_band_by_default_and_not_beside_evasive_copies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert TrainSettings().band and TrainSettings().evasion_band == 0.9
    monkeypatch.setenv("FRAUD_EVASION_BAND", "0")
    assert not TrainSettings().band
    assert not TrainSettings(evasion_band=0.9, evasive_copies=1).band  # the shipped model has the copies


def test_settings_refuse_a_band_reaching_the_threshold() -> None:
    with pytest.raises(ValidationError, match="less than 1"):
        TrainSettings(evasion_band=1.0)
