"""`fraud score --cluster`: on a 2-worker LocalCluster the same rows, counts and quarantine as in-process;
worker errors and an unreachable scheduler end in one readable line."""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from fraud_cli.main import main
from fraud_model import records
from fraud_model.store import LocalStore
from tests.factory import publish_tiny_version
from tests.training_job.clusters import local_cluster
from training_job import score as scoring
from training_job import score_cluster
from training_job.generator import generate, write_csv

BAD_ROWS = (
    "step,type,amount,oldbalanceOrg,newbalanceOrig\n1,TRANSFER,-5,10,0\n2,WIRE,10,10,0\n3,CASH_OUT,7,9,2\n"
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    with local_cluster() as local:
        yield local.scheduler_address


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    store = LocalStore(tmp_path_factory.mktemp("store"))
    publish_tiny_version(store, rows=5_000, rounds=5, threshold=0.3)
    return store


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three files of three formats (a few thousand rows), one with bad rows: three partitions."""
    folder = tmp_path_factory.mktemp("inputs")
    write_csv(generate(2_000, fraud_rate=0.02, seed=11), folder / "a.csv.gz")
    b = write_csv(generate(1_500, fraud_rate=0.02, seed=12), folder / "b.csv")
    pq.write_table(pacsv.read_csv(b), folder / "b.parquet")
    b.unlink()
    (folder / "c.csv").write_text(BAD_ROWS)
    return folder


def _rows(out: Path) -> list[tuple[Any, ...]]:
    done = json.loads((out / scoring.DONE).read_text())
    table = pa.concat_tables([pq.read_table(out / part) for part in done["parts"]])
    return sorted(tuple(tuple(v) if isinstance(v, list) else v for v in row.values())
                  for row in table.to_pylist())  # fmt: skip


def _copy(store: LocalStore, root: Path) -> LocalStore:
    own = LocalStore(root)
    for key in store.list(""):
        own.write(key, store.read(key))
    return own


def test_score_cluster_gives_the_rows_counts_and_quarantine_of_the_in_process_path(
    cluster: str, store: LocalStore, inputs: Path, tmp_path: Path
) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    ours = scoring.score_files([str(inputs)], str(here), store_uri=store.uri, record=False)
    theirs = score_cluster.score_on_cluster(
        cluster, [str(inputs)], str(there), store_uri=store.uri, record=False
    )

    assert _rows(there) == _rows(here) and len(_rows(here)) == ours.scored == 3_501
    for name in ("rows", "scored", "quarantined", "flagged", "outcomes", "model_version", "policy_version"):
        assert getattr(theirs, name) == getattr(ours, name), name
    assert theirs.quarantined == 2 and len(theirs.parts) == 3 and theirs.engine == f"dask {cluster}"
    assert gzip.decompress((there / scoring.QUARANTINE_FILE).read_bytes()) == gzip.decompress(
        (here / scoring.QUARANTINE_FILE).read_bytes()
    )


def test_score_cluster_records_every_row_once_under_a_request_id_a_partition(
    cluster: str, store: LocalStore, inputs: Path, tmp_path: Path
) -> None:
    own = _copy(store, tmp_path / "store")
    summary = score_cluster.score_on_cluster(cluster, [str(inputs)], str(tmp_path / "out"), store_uri=own.uri)

    recorded = records.read(own)
    assert recorded.num_rows == summary.scored
    pairs = set(zip(recorded["request_id"].to_pylist(), recorded["item"].to_pylist(), strict=True))
    assert len(pairs) == summary.scored  # (request id, item) names one row: labels join on it
    assert {r.rsplit("-", 1)[1] for r, _ in pairs} == {"p00000", "p00001", "p00002"}


def test_score_cluster_from_the_environment_variable(
    cluster: str, store: LocalStore, inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_DASK_CLUSTER", cluster)
    out = tmp_path / "out"
    code = main(["score", "--data", str(inputs / "a.csv.gz"), "--out", str(out), "--store", store.uri,
                 "--no-record", "--no-progress"])  # fmt: skip
    assert code == 0
    assert json.loads((out / scoring.DONE).read_text())["engine"] == f"dask {cluster}"


def test_score_cluster_reports_a_worker_s_input_error_as_one_line(
    cluster: str, store: LocalStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "no-amount.csv"
    data.write_text("step,type,oldbalanceOrg,newbalanceOrig\n1,TRANSFER,10,0\n")
    args = ["score", "--data", str(data), "--store", store.uri, "--no-progress"]
    here = main([*args, "--out", str(tmp_path / "here")])
    here_err = capsys.readouterr().err
    code = main([*args, "--out", str(tmp_path / "out"), "--cluster", cluster])
    err = capsys.readouterr().err
    assert code == here == 2  # the error the in-process path gives: data that cannot be scored
    # (the last line: an earlier test may have left the root logger at INFO, where distributed's client talks)
    assert err.splitlines()[-1] == here_err.strip() and "lacks required columns amount" in here_err
    assert here_err.startswith("fraud score: error: ") and "Traceback" not in err
    assert not (tmp_path / "out" / scoring.DONE).exists()


def test_score_cluster_unreachable_says_so_in_one_line(
    store: LocalStore, inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    code = main(["score", "--data", str(inputs), "--out", str(tmp_path / "out"), "--store", store.uri,
                 "--cluster", address])  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"fraud score: error: cannot reach the Dask cluster at {address}: ")
    assert len(err.splitlines()) == 1


def test_score_cluster_refuses_an_address_that_is_not_one(
    store: LocalStore, inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["score", "--data", str(inputs), "--out", str(tmp_path / "out"), "--store", store.uri,
                 "--cluster", "http://scheduler:8786"])  # fmt: skip
    assert code == 1
    assert "unknown address scheme 'http'" in capsys.readouterr().err


def test_score_readme_lines_run_as_written(cluster: str, store: LocalStore, tmp_path: Path) -> None:
    """The README's example (generate, score here, score on a cluster) by the installed `fraud`, the README's
    scheduler address swapped for the LocalCluster's."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    block = readme.split("Scoring a file here", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line.replace("tcp://127.0.0.1:8786", cluster) for line in block.splitlines()]
    own = _copy(store, tmp_path / "store")
    env = {
        **os.environ,
        "FRAUD_MODEL_STORE": own.uri,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    for line in lines:
        done = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, (line, done.stderr[-2000:])
    assert len(lines) == 3 and _rows(tmp_path / "scored") == _rows(tmp_path / "scored-dask")
    assert json.loads((tmp_path / "scored-dask" / scoring.DONE).read_text())["engine"] == f"dask {cluster}"
