"""The report beside each version: Markdown with PNG plots, strict-JSON metrics, a printed summary."""

from __future__ import annotations

import json
import re

from fraud_model.store import LocalStore
from training_job import pipeline
from training_job.report import summary_lines


def _read(trained: pipeline.Outcome, name: str) -> bytes:
    return LocalStore(trained.store_uri).read(f"{trained.report_prefix}/{name}")


def test_report_embeds_plots_that_are_written_as_png(trained: pipeline.Outcome) -> None:
    images = re.findall(r"!\[[^]]*\]\(([^)]+)\)", _read(trained, "report.md").decode())
    assert {
        f"{kind}_{fs}.png"
        for kind in ("curves", "scores", "confusion", "importance")
        for fs in ("full", "origin")
    } == set(images)
    assert all(_read(trained, image).startswith(b"\x89PNG") for image in images)


def test_metrics_json_is_strict_json_with_every_model(trained: pipeline.Outcome) -> None:
    def refuse(constant: str) -> None:
        raise ValueError(constant)

    metrics = json.loads(_read(trained, "metrics.json"), parse_constant=refuse)
    assert {fs: set(m["models"]) for fs, m in metrics["feature_sets"].items()} == {
        "full": {"xgboost", "lightgbm"},
        "origin": {"xgboost", "lightgbm"},
    }


def test_report_measures_what_outlier_filters_would_remove(trained: pipeline.Outcome) -> None:
    assert "| iqr_amount |" in _read(trained, "report.md").decode()


def test_summary_names_the_champion_of_each_feature_set(trained: pipeline.Outcome) -> None:
    lines = summary_lines(trained.results)
    assert [line.split()[0] for line in lines] == ["full", "origin"]
    assert all("champion" in line and "PR AUC" in line and "recall" in line for line in lines)
