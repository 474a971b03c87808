"""`fraud score --cluster ADDRESS`: the same job on an existing Dask cluster.

The input files become the partitions of a `dask.dataframe.from_map` frame; each worker reads its file with
the project's reader and validation, scores it with the Scorer (loaded once per worker process, from the
store) and writes its part files itself. The frame's rows are each partition's counts and quarantined rows:
the client merges them, then writes `quarantine.csv.gz` and `_SUCCESS` last, as the in-process path does.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from fraud_model.errors import FraudError
from fraud_model.store import open_store
from training_job.cluster import ClusterError, absolute, connect
from training_job.load import DataFile, S3Reader, resolve
from training_job.score import PartWriter, ScoreSpec, Summary, finish, load_once, prepare, score_file
from training_job.validate import Quarantine

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Partition:
    """One unit of work: an input file, its position in the run, and the run's spec."""

    index: int
    file: DataFile
    spec: ScoreSpec


def score_on_cluster(
    address: str,
    uris: list[str],
    out_uri: str,
    *,
    store_uri: str | None = None,
    model_version: str | None = None,
    overwrite: bool = False,
    progress: bool = False,
    s3: S3Reader | None = None,
    **options: Any,
) -> Summary:
    """Score every file behind `uris` into `out_uri` on the cluster at `address`; the run's summary.

    The client resolves the versions and lists the files (so a wrong model or path fails before the cluster is
    asked); the workers need this package installed and access to the store, the inputs and the output.
    """
    started = time.perf_counter()
    spec, _ = prepare(
        absolute(out_uri), store_uri=store_uri, model_version=model_version, overwrite=overwrite, **options
    )
    files = resolve([absolute(uri) for uri in uris], s3=s3)
    with connect(address) as client:
        results = _run(client, [Partition(i, file, spec) for i, file in enumerate(files)], progress)
    summary = Summary(out_uri, spec.run, spec.model_version, spec.policy_version, engine=f"dask {address}")
    quarantine = Quarantine()
    for result in results:  # in file order, as the in-process path goes
        part = result["summary"]
        summary.rows += part["rows"]
        summary.scored += part["scored"]
        summary.flagged += part["flagged"]
        summary.parts.extend(part["parts"])
        for outcome, count in part["outcomes"].items():
            summary.outcomes[outcome] = summary.outcomes.get(outcome, 0) + count
        quarantine.merge(Quarantine.from_dict(result["quarantine"]))
    return finish(spec, summary, quarantine, started)


def score_partition(partition: Partition) -> pd.DataFrame:
    """On a worker: score one file into part files; one row holding its counts and quarantined rows."""
    import pandas as pd

    spec = partition.spec
    summary = Summary(
        spec.out_uri, f"{spec.run}-p{partition.index:05d}", spec.model_version, spec.policy_version
    )
    quarantine = Quarantine()
    with PartWriter(open_store(spec.out_uri), spec.out_format, summary.run) as parts:
        score_file(partition.file, spec, load_once(spec), summary, quarantine, parts)
    result = {"summary": asdict(summary), "quarantine": quarantine.to_dict()}
    return pd.DataFrame({"partition": [partition.index], "result": [json.dumps(result)]})


def _run(client: Any, partitions: list[Partition], progress: bool) -> list[dict[str, Any]]:
    import dask.dataframe as dd
    import pandas as pd
    from distributed import as_completed

    # meta given: dask must not call score_partition to guess it (that would score a file on the client)
    meta = pd.DataFrame({"partition": pd.Series([], dtype="int64"), "result": pd.Series([], dtype=str)})
    frame = dd.from_map(score_partition, partitions, meta=meta, label="fraud-score")
    futures = client.compute(frame.to_delayed())
    results: dict[int, dict[str, Any]] = {}
    try:
        with tqdm(total=len(futures), unit="file", desc="partitions", disable=not progress) as bar:
            for future in as_completed(futures, loop=client.loop):
                row = future.result().iloc[0]
                results[int(row["partition"])] = json.loads(row["result"])
                bar.update()
    except FraudError:
        raise  # the worker's own error (a bad file, a store problem): the same line as in-process
    except Exception as exc:
        raise ClusterError(f"the Dask cluster failed the job: {type(exc).__name__}: {exc}") from exc
    finally:
        client.cancel(futures)
    return [results[index] for index in sorted(results)]
