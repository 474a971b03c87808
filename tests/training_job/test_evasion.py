"""The evasion band's models: trained beside each shipped model, published with it, and never changing what
the shipped model decides at its threshold (the same run without the band gives the same shipped model)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fraud_model.artifact import load_version
from fraud_model.scorer import Scorer
from fraud_model.store import LocalStore
from tests.training_job.conftest import small_settings, without_fraud_env
from training_job import pipeline


@pytest.fixture(scope="module")
def unbanded(paysim_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[pipeline.Outcome]:
    """The session's training run again, with FRAUD_EVASION_BAND=0."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        without_fraud_env(monkeypatch)
        store = str(tmp_path_factory.mktemp("unbanded"))
        yield pipeline.run(small_settings(data=[str(paysim_csv)], model_store=store, evasion_band=0.0))


def test_evasion_model_is_published_beside_each_shipped_model(trained: pipeline.Outcome) -> None:
    loaded = load_version(LocalStore(trained.store_uri), trained.version)
    assert loaded.metadata.evasion_band == 0.9
    for result in trained.results:
        spec = loaded.metadata.models[result.feature_set.name]
        assert spec.evasion is not None and spec.evasion.library == spec.library  # the champion's library
        assert {spec.evasion.native_file, spec.evasion.forest_file} <= loaded.files.keys()
        assert spec.evasion.model_extra and spec.evasion.model_extra["forest_max_diff"] <= 1e-5
    assert all(Scorer(loaded).has_band(name) for name in loaded.metadata.models)


def test_band_leaves_the_shipped_model_and_its_threshold_as_without_it(
    trained: pipeline.Outcome, unbanded: pipeline.Outcome
) -> None:
    banded_files = load_version(LocalStore(trained.store_uri), trained.version).files
    plain_files = load_version(LocalStore(unbanded.store_uri), unbanded.version).files
    for with_band, without in zip(trained.results, unbanded.results, strict=True):
        spec = trained.metadata.models[with_band.feature_set.name]
        assert banded_files[spec.native_file] == plain_files[spec.native_file]
        assert with_band.best.threshold.threshold == without.best.threshold.threshold
        assert with_band.best.holdout == without.best.holdout
        served = with_band.served_holdout  # the served score decides exactly as the shipped model alone
        assert (served["precision"], served["recall"]) == (without.best.holdout["precision"],
                                                           without.best.holdout["recall"])  # fmt: skip


def test_band_off_trains_and_publishes_no_evasion_model(unbanded: pipeline.Outcome) -> None:
    loaded = load_version(LocalStore(unbanded.store_uri), unbanded.version)
    assert loaded.metadata.evasion_band == 0.0
    assert all(spec.evasion is None for spec in loaded.metadata.models.values())
    assert not [name for name in loaded.files if ".evasion." in name]
    assert all(not result.served_holdout and result.evasion is None for result in unbanded.results)
