"""LightGBM's half of train.py: native `lgb.train` on a `Dataset` (from an array or a `lightgbm.Sequence`),
early stopping on validation, the text cut to the best iteration and reloaded so that text and export agree.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
from tqdm import tqdm

from fraud_model.forest import from_lightgbm_dump
from training_job.errors import TrainingError
from training_job.train import METRICS, BoostParams, Matrix, TrainData, Trained


def train_lightgbm(
    features: list[str], train_set: TrainData, valid_set: Matrix, params: BoostParams, bar: tqdm
) -> Trained:
    """A LightGBM booster cut to its best iteration (the text reloaded), with its native text and export."""
    booster_params = {
        "objective": "binary",
        "metric": METRICS[params.stopping_metric][1],
        "learning_rate": params.learning_rate,
        "max_depth": params.max_depth,
        "num_leaves": min(31, 2**params.max_depth),
        "scale_pos_weight": params.scale_pos_weight,
        "zero_as_missing": False,
        # XGBoost's defaults (min_child_weight 1, lambda 1, start at margin 0): LightGBM's own (1e-3, 0, the
        # unweighted mean) give huge leaves from a few rare-class rows and a validation loss that oscillates.
        "min_sum_hessian_in_leaf": 1.0,
        "lambda_l2": 1.0,
        "boost_from_average": False,
        "num_threads": params.nthread,
        "seed": params.seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }
    if any(params.monotone):
        booster_params["monotone_constraints"] = list(params.monotone)
        booster_params["monotone_constraints_method"] = "advanced"
    dataset_params = {"verbosity": -1, "data_random_seed": lightgbm_data_seed(params.seed)}
    dtrain = lgb.Dataset(
        train_set.lightgbm_data(),
        label=train_set.y,
        weight=train_set.weight,
        feature_name=features,
        params=dataset_params,
    )
    dvalid = lgb.Dataset(
        valid_set.x, label=valid_set.y, weight=valid_set.weight, reference=dtrain, params=dataset_params
    )
    rounds = [0]

    def count(env: Any) -> None:
        rounds[0] = env.iteration + 1
        bar.update(1)

    booster = lgb.train(
        booster_params,
        dtrain,
        num_boost_round=params.max_rounds,
        valid_sets=[dvalid],
        valid_names=["validation"],
        callbacks=[
            lgb.early_stopping(params.early_stopping_rounds, verbose=False),
            count,
        ],
    )
    best = booster.best_iteration or rounds[0]
    text = booster.model_to_string(num_iteration=best)
    booster = lgb.Booster(model_str=text)  # reload: the native text and the export hold the same trees
    if booster.current_iteration() != best:
        raise TrainingError(f"LightGBM kept {booster.current_iteration()} trees, expected {best}")
    forest = from_lightgbm_dump(booster.dump_model())
    gain = booster.feature_importance(importance_type="gain")
    importance = {name: float(g) for name, g in zip(features, gain, strict=True)}
    return Trained(
        "lightgbm",
        features,
        text.encode(),
        forest,
        best,
        rounds[0],
        importance,
        booster_params,
        booster,
        params.nthread,
    )


def lightgbm_data_seed(seed: int) -> int:
    """The `data_random_seed` LightGBM derives from `seed` (Config::Set: the first Random(seed).NextShort).
    Given explicitly because a Dataset built from a Sequence samples its bin boundaries with the Dataset's own
    parameters, which leave `seed` out: without it the streamed bins would differ from an array's."""
    x = (214_013 * seed + 2_531_011) & 0xFFFFFFFF
    return ((x >> 16) & 0x7FFF) % 32_767
