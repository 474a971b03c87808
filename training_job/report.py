"""The training report: `report.md`, `metrics.json` and PNG plots, for `reports/<version>/` in the store."""

from __future__ import annotations

import json
from typing import Any

from fraud_model.artifact import Metadata
from fraud_model.metrics import json_safe
from training_job.results import FeatureSetResult


def build(
    metadata: Metadata, results: list[FeatureSetResult], context: dict[str, Any], *, plots: bool = True
) -> dict[str, bytes]:
    """Every report file by name."""
    images: dict[str, bytes] = {}
    if plots:
        from training_job.plots import plots as draw

        for result in results:
            images.update(draw(result))
    metrics = metrics_json(metadata, results, context)
    files = {
        "metrics.json": json.dumps(metrics, indent=2).encode(),
        "report.md": markdown(metadata, results, context, images).encode(),
    }
    return files | images


def metrics_json(
    metadata: Metadata, results: list[FeatureSetResult], context: dict[str, Any]
) -> dict[str, Any]:
    feature_sets = {
        r.feature_set.name: {
            "champion": r.champion,
            "threshold": r.best.threshold.threshold,
            "logit_offset": r.logit_offset,
            "forest_max_diff": r.verify_max_diff,
            "models": r.metrics(),
            **({"served_with_band": r.served_holdout} if r.served_holdout else {}),
        }
        for r in results
    }
    return json_safe(
        {
            "version": metadata.version,
            "created_at": metadata.created_at,
            "git_commit": metadata.git_commit,
            "threshold_policy": metadata.threshold_policy,
            "library_versions": metadata.library_versions,
            "feature_sets": feature_sets,
            **context,
        }
    )


def summary_lines(results: list[FeatureSetResult]) -> list[str]:
    """One line per feature set: champion, holdout PR AUC, precision and recall at the threshold."""
    lines = []
    for r in results:
        h = r.best.holdout
        lines.append(
            f"{r.feature_set.name:<7} champion {r.champion:<9} holdout PR AUC {_f(h['pr_auc'])}  "
            f"precision {_f(h['precision'])}  recall {_f(h['recall'])}  "
            f"at threshold {r.best.threshold.threshold:.4g}"
            + (
                f"  (with the evasion band: PR AUC {_f(r.served_holdout['pr_auc'])})"
                if r.served_holdout
                else ""
            )
        )
    return lines


def markdown(
    metadata: Metadata, results: list[FeatureSetResult], context: dict[str, Any], images: dict[str, bytes]
) -> str:
    out = [
        f"# Training report {metadata.version}",
        "",
        f"Created {metadata.created_at}; git commit `{metadata.git_commit or 'unknown'}`; "
        f"schema version {metadata.schema_version}.",
        "",
        "## Summary (holdout, as sampled)",
        "",
        "| feature set | champion | PR AUC | precision | recall | threshold | PR AUC at natural rate |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        h = r.best.holdout
        out.append(
            f"| {r.feature_set.name} | {r.champion} | {_f(h['pr_auc'])} | {_f(h['precision'])} | "
            f"{_f(h['recall'])} | {r.best.threshold.threshold:.4g} | {_f(h['natural_rate']['pr_auc'])} |"
        )
        if r.served_holdout:  # the same decisions at the threshold, a different ranking under it
            s = r.served_holdout
            out.append(
                f"| {r.feature_set.name} + evasion band ({metadata.evasion_band:g} × threshold) "
                f"| {r.champion} | {_f(s['pr_auc'])} | {_f(s['precision'])} | {_f(s['recall'])} | "
                f"{r.best.threshold.threshold:.4g} | {_f(s['natural_rate']['pr_auc'])} |"
            )
    out += _data(context) + _splits(context) + _outliers(context) + _calibration(metadata, context)
    for r in results:
        out += _feature_set(r, images)
    out += _stress(context)
    out += [
        "## Timings (seconds)",
        "",
        " ".join(f"{k} {v:.1f};" for k, v in context.get("timings", {}).items()),
        "",
    ]
    return "\n".join(out)


def _stress(context: dict[str, Any]) -> list[str]:
    if not context.get("stress"):
        return []
    from training_job.stress import render

    return [
        "## Evasion stress test",
        "",
        "The holdout's frauds as their author could change them (bookkeeping kept consistent), scored by the "
        "published models against the legitimate holdout: see docs/training.md, *Evasion*.",
        "",
        render(context["stress"]),
    ]


def _data(context: dict[str, Any]) -> list[str]:
    out = [
        "",
        "## Data",
        "",
        "| source | bytes | sha256 / etag | rows | valid | frauds |",
        "|---|---|---|---|---|---|",
    ]
    for d in context["data"]:
        digest = (d.get("sha256") or d.get("etag") or "")[:16]
        out.append(
            f"| {d['uri']} | {d.get('bytes') or ''} | {digest} | {d['rows']} | {d['valid_rows']} | "
            f"{d['frauds']} |"
        )
    q = context["quarantine"]
    out += [
        "",
        f"Quarantined {q['quarantined']} of {q['rows']} rows ({q['share']:.3%}); rows kept in "
        "`quarantine.csv.gz` beside this report."
        if q["quarantined"]
        else "",
        "",
    ]
    out += [f"- `{reason}`: {count}" for reason, count in q["reasons"].items()]
    return out


def _splits(context: dict[str, Any]) -> list[str]:
    out = [
        "",
        "## Split by time (each source by its own step quantiles)",
        "",
        "| source | train rows / frauds | validation rows / frauds | holdout rows / frauds | cuts (step) |",
        "|---|---|---|---|---|",
    ]
    for s in context["splits"]:
        cells = " | ".join(f"{s[k]['rows']} / {s[k]['frauds']}" for k in ("train", "validation", "holdout"))
        out.append(
            f"| {s['source']} | {cells} | <= {s['train_until_step']:g}, <= {s['validation_until_step']:g} |"
        )
    return out


def _outliers(context: dict[str, Any]) -> list[str]:
    out = [
        "",
        f"## Outliers (policy: {context['outliers']['policy']})",
        "",
        "What each filter on `amount` would remove if applied; the default removes nothing, because fraud is "
        "concentrated in the large, account-draining amounts these filters cut.",
        "",
        "| source | filter | rows removed | frauds removed |",
        "|---|---|---|---|",
    ]
    for source, filters in context["outliers"]["measured"].items():
        for name, m in filters.items():
            out.append(
                f"| {source} | {name} | {_p(m['rows_removed_share'])} | {_p(m['frauds_removed_share'])} |"
            )
    return out


def _calibration(metadata: Metadata, context: dict[str, Any]) -> list[str]:
    p = context["params"]
    policy = metadata.threshold_policy
    return [
        "",
        "## Class weighting, calibration, threshold",
        "",
        f"- class weight `{p['class_weight']}`: scale_pos_weight {p['scale_pos_weight']:.4g} "
        f"({p['train_positives']} frauds, {p['train_negatives']} legitimate rows in train)",
        f"- prior correction: logit_offset = logit(pi) - log(P*spw/N) = {p['logit_offset']:.4f} "
        f"(pi = {policy['natural_fraud_rate']})",
        f"- threshold policy `{policy['name']}`, target precision {policy['target_precision']}, "
        "on validation "
        "with each source's negatives reweighted to the natural fraud rate",
        "",
    ]


def _feature_set(r: FeatureSetResult, images: dict[str, bytes]) -> list[str]:
    name = r.feature_set.name
    out = [
        "",
        f"## Feature set `{name}`: {r.feature_set.description}",
        "",
        f"Features: {', '.join(r.feature_set.features)}. Champion **{r.champion}**; "
        "forest export agrees with "
        f"the booster to {r.verify_max_diff:.2g} in probability.",
        "",
        "| library | trees | val. PR AUC (natural) | threshold | val. precision / recall | holdout PR AUC | "
        "holdout precision / recall | holdout PR AUC (natural) | precision (natural) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for library, c in r.candidates.items():
        h, t = c.holdout, c.threshold
        out.append(
            f"| {library} | {c.trained.trees} | {_f(c.validation['pr_auc'])} | {t.threshold:.4g} | "
            f"{_f(t.precision)} / {_f(t.recall)}{'' if t.target_met else ' (target missed)'} | "
            f"{_f(h['pr_auc'])} | {_f(h['precision'])} / {_f(h['recall'])} | "
            f"{_f(h['natural_rate']['pr_auc'])} | {_f(h['natural_rate']['precision'])} |"
        )
    out += [
        "",
        "Holdout per source (champion):",
        "",
        "| source | rows | frauds | PR AUC | precision | recall | precision at natural rate |",
        "|---|---|---|---|---|---|---|",
    ]
    for source, m in r.best.holdout["sources"].items():
        out.append(
            f"| {source} | {m['rows']} | {m['frauds']} | {_f(m['pr_auc'])} | {_f(m['precision'])} | "
            f"{_f(m['recall'])} | {_f(m['natural_rate']['precision'])} |"
        )
    out += [""] + [f"![{image}]({image})" for image in images if image.endswith(f"_{name}.png")]
    return out


def _f(value: Any) -> str:
    return "n/a" if value is None or value != value else f"{value:.4f}"


def _p(value: Any) -> str:
    return "n/a" if value is None else f"{value:.2%}"
