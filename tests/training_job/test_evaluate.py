"""`fraud evaluate`: PaySim files scored through the Scorer, routed like the API, as JSON or a table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pytest

from fraud_model.scorer import Scorer
from tests.training_job.test_validate import HEADER, ROWS
from training_job import pipeline
from training_job.commands import add_evaluate_arguments, run_evaluate

REQUIRED_KEYS = {
    "rows",
    "frauds",
    "roc_auc",
    "pr_auc",
    "precision",
    "recall",
    "specificity",
    "f1",
    "threshold",
    "recall_at_fpr_0_1pct",
    "recall_at_fpr_1pct",
    "model_version",
    "quarantined",
    "feature_sets",
}


def _evaluate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    add_evaluate_arguments(parser)
    code = run_evaluate(parser.parse_args([*argv, "--no-progress"]))
    out, err = capsys.readouterr()
    return code, out, err


def test_evaluate_json_has_every_required_key(
    trained: pipeline.Outcome, paysim_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _evaluate(capsys, "--store", trained.store_uri, "--data", str(paysim_csv), "--json")
    result = json.loads(out)
    assert code == 0 and result.keys() >= REQUIRED_KEYS
    assert (result["rows"], result["model_version"]) == (40_000, trained.version)
    assert set(result["feature_sets"]) == {"full", "origin"}


def test_evaluate_scores_through_the_scorer(
    trained: pipeline.Outcome,
    paysim_csv: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    original = Scorer.probabilities

    def spy(self: Scorer, feature_set: str, columns: Any) -> Any:
        calls.append(feature_set)
        return original(self, feature_set, columns)

    monkeypatch.setattr(Scorer, "probabilities", spy)
    _evaluate(capsys, "--store", trained.store_uri, "--data", str(paysim_csv), "--json")
    assert set(calls) == {"full", "origin"}


def test_evaluate_routes_rows_with_only_the_seed_fields_to_the_origin_model(
    trained: pipeline.Outcome, paysim_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_fields = tmp_path / "seed_api.csv"
    columns = ["amount", "oldbalanceOrg", "newbalanceOrig", "isFraud"]
    pacsv.write_csv(
        pacsv.read_csv(paysim_csv, convert_options=pacsv.ConvertOptions(include_columns=columns)), seed_fields
    )
    _, out, _ = _evaluate(capsys, "--store", trained.store_uri, "--data", str(seed_fields), "--json")
    result = json.loads(out)
    assert result["routed"] == {"full": 0, "origin": 40_000}
    assert result["threshold"] == trained.metadata.models["origin"].threshold


def test_evaluate_counts_quarantined_rows(
    trained: pipeline.Outcome, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    messy = tmp_path / "messy.csv"
    messy.write_text("\n".join([HEADER, *ROWS]) + "\n")
    _, out, _ = _evaluate(capsys, "--store", trained.store_uri, "--data", str(messy), "--json")
    result = json.loads(out)
    assert (result["rows"], result["quarantined"]) == (4, 8)  # scoring needs no `step`: that row is usable


def test_evaluate_prints_a_readable_table_without_json(
    trained: pipeline.Outcome, paysim_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _evaluate(capsys, "--store", trained.store_uri, "--data", str(paysim_csv))
    assert code == 0 and "routed like the API" in out and "origin model" in out


def test_evaluate_without_a_published_model_fails_in_one_line(
    paysim_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _evaluate(capsys, "--store", str(tmp_path / "empty"), "--data", str(paysim_csv))
    assert code != 0 and err.startswith("error: ") and err.count("\n") == 1 and "fraud train" in err


def test_evaluate_stress_adds_the_evasion_figures(
    trained: pipeline.Outcome, paysim_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`fraud evaluate --stress`: the same families as the training report, on the files' own frauds, served
    with the evasion band and by the shipped model alone."""
    from training_job.stress import FAMILIES

    argv = ("--store", trained.store_uri, "--data", str(paysim_csv), "--stress")
    code, out, _ = _evaluate(capsys, *argv, "--json")
    stress = json.loads(out)["stress"]
    assert code == 0 and set(stress) == {"full", "origin"}
    assert all(set(families) == set(FAMILIES) for families in stress.values())
    assert stress["full"]["remainder_20pct"]["frauds"] == stress["full"]["none"]["frauds"]
    shipped = stress["full"]["remainder_1pct"][
        "shipped"
    ]  # the version has a band: the shipped model alone too
    assert shipped["frauds"] == stress["full"]["remainder_1pct"]["frauds"]
    _, table, _ = _evaluate(capsys, *argv)
    assert "evasion stress test" in table and "| split_3 |" in table and "shipped alone" in table
    _, plain, _ = _evaluate(capsys, "--store", trained.store_uri, "--data", str(paysim_csv), "--json")
    assert "stress" not in json.loads(plain)
