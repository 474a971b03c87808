"""A local Dask cluster for the tests that run jobs on one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def local_cluster(workers: int = 2) -> Iterator[Any]:
    """`workers` one-thread worker processes; the dashboard on a free port (":0": None still binds 8787,
    which another cluster on a shared machine may hold)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=":0"
    ) as local:
        yield local
