"""XGBoost on an existing Dask cluster (`fraud train --cluster`): `xgboost.dask` trains on the workers.

The workers hold the training rows they read (cluster_data.py) and compute each partition's features with the
shared contract where it lies; `DaskQuantileDMatrix` is built from those dask arrays. Rows held by the client
(a `Matrix`, or any other TrainData) are sent to the workers a batch at a time (round robin) instead. The
validation rows go from the client to the cluster, for early stopping on the same weighted log loss as
in-process. The booster comes back to the client, which cuts, exports and verifies it like an in-process one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np

from fraud_model.errors import FraudError
from training_job.cluster import ClusterError
from training_job.train import BoostParams, Matrix, TrainData, Trained, xgboost_params, xgboost_trained

log = logging.getLogger(__name__)

Batch = tuple[np.ndarray, np.ndarray, np.ndarray | None]  # features, labels, weights (or None)


def train_xgboost(
    client: Any, features: list[str], train_set: TrainData, valid_set: Matrix, params: BoostParams
) -> Trained:
    """`dxgb.train` on a `DaskQuantileDMatrix` of the training batches; ClusterError if the cluster fails."""
    workers = sorted(client.scheduler_info()["workers"])
    if not workers:
        raise ClusterError("the Dask cluster has no workers")
    booster_params = xgboost_params(params)
    del booster_params["nthread"]  # each worker trains with its own threads (xgboost.dask's default)
    try:
        # as_current: xgboost.dask finds the client with distributed.get_client(), which sees no other one
        with client.as_current():
            output = _train(client, workers, train_set, valid_set, params, booster_params)
    except FraudError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[:1]  # one line on stderr: the rest is in the chained traceback
        raise ClusterError(
            f"the Dask cluster failed the training: {type(exc).__name__}: {''.join(first)}"
        ) from exc
    log.info("trained on the Dask cluster's %d workers", len(workers))
    return xgboost_trained(output["booster"], features, booster_params, params.nthread)


def _train(
    client: Any,
    workers: list[str],
    train_set: TrainData,
    valid_set: Matrix,
    params: BoostParams,
    booster_params: dict[str, Any],
) -> Any:
    from xgboost import dask as dxgb

    from training_job.cluster_data import ClusterFeatures

    if isinstance(train_set, ClusterFeatures):  # the workers hold the rows: features computed where they are
        x, y, w = train_set.collections()
    else:
        rows = -(-len(train_set.y) // len(workers))  # at least one partition a worker: none trains empty
        x, y, w = _collections(client, _pieces(train_set.feature_batches(), rows), workers)
    dtrain = dxgb.DaskQuantileDMatrix(client, x, label=y, weight=w)
    rows = -(-len(valid_set.y) // len(workers))
    vx, vy, vw = _collections(client, _pieces(valid_set.feature_batches(), rows), workers)
    dvalid = dxgb.DaskQuantileDMatrix(client, vx, label=vy, weight=vw, ref=dtrain)
    return dxgb.train(
        client,
        booster_params,
        dtrain,
        num_boost_round=params.max_rounds,
        evals=[(dvalid, "validation")],
        early_stopping_rounds=params.early_stopping_rounds,
        verbose_eval=False,
    )


def _pieces(batches: Iterator[Batch], rows: int) -> Iterator[Batch]:
    """The batches cut to at most `rows` rows each."""
    for x, y, w in batches:
        for start in range(0, len(y), rows):
            end = start + rows
            yield x[start:end], y[start:end], None if w is None else w[start:end]


def _collections(client: Any, pieces: Iterator[Batch], workers: list[str]) -> tuple[Any, ...]:
    """Dask arrays (features, labels, weights or None) chunked as the pieces, each sent to one worker. The
    workers release the rows once these arrays are dropped (`client.cancel` of scattered data trips an
    assertion in the scheduler)."""
    import dask
    import dask.array as da

    parts: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
    weighted = False
    for i, (x, y, w) in enumerate(pieces):
        if not len(y):
            continue
        weighted = w is not None
        sent = client.scatter([x, y, w], workers=[workers[i % len(workers)]], hash=False)
        for part, future, value in zip(parts, sent, (x, y, w), strict=True):
            if value is not None:
                part.append(da.from_delayed(dask.delayed(future), shape=value.shape, dtype=value.dtype))
    features, labels, weights = (da.concatenate(part) if part else None for part in parts)
    return features, labels, weights if weighted else None
