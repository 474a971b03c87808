"""`fraud score`: score PaySim-schema files of any size with the API's Scorer and decision policy, streamed
record batch by record batch (bounded memory), into part files.

Each output row carries the input's key columns (and an id column the user names), the probability, the
decision at the model's threshold, the feature set, the versions, the policy's outcome and matched rules.
Rows that fail validation go to `quarantine.csv.gz` with their reasons. Nothing looks complete before it is:
parts are named by run, and `_SUCCESS` (a JSON summary listing them) is written last; a run over an output
that already has one is refused unless `overwrite`. `score_file` is the unit both engines run: this process
(`score_files`) or the workers of a Dask cluster (`training_job.score_cluster`).
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from fraud_model import artifact, constants, policy_store, records
from fraud_model.errors import InputError, NotFoundError
from fraud_model.features import FULL
from fraud_model.schema import NAME_COLUMNS, REQUIRED_REQUEST_FIELDS, TIME
from fraud_model.scorer import Scorer
from fraud_model.store import Store, open_store
from training_job.load import DataFile, S3Reader, read_batches, resolve
from training_job.score_rows import REPEATING, as_text, score_batch
from training_job.validate import Quarantine, check_batch, check_header

DONE = "_SUCCESS"
QUARANTINE_FILE = "quarantine.csv.gz"
_OPTIONAL = tuple(
    dict.fromkeys([*(n for n in FULL.inputs if n not in REQUIRED_REQUEST_FIELDS), TIME, *NAME_COLUMNS])
)


@dataclass
class Summary:
    out: str
    run: str
    model_version: str
    policy_version: str
    rows: int = 0
    scored: int = 0
    quarantined: int = 0
    flagged: int = 0
    seconds: float = 0.0
    parts: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    engine: str = "in-process"

    @property
    def rows_per_second(self) -> float:
        return self.scored / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        """The one-line summary the command prints."""
        outcomes = ", ".join(f"{name} {count:,}" for name, count in sorted(self.outcomes.items()))
        return (f"scored {self.scored:,} of {self.rows:,} rows in {self.seconds:.1f} s "
                f"({self.rows_per_second:,.0f} rows/s) with model {self.model_version}: "
                f"{self.flagged:,} flagged; outcomes {outcomes or 'none'}; "
                f"{len(self.parts)} parts in {self.out}")  # fmt: skip


@dataclass(frozen=True)
class ScoreSpec:
    """One run's settings as plain values, versions resolved: what each worker of a cluster receives."""

    store_uri: str
    model_version: str
    policy_version: str
    out_uri: str
    run: str
    id_column: str | None = None
    out_format: str = "parquet"
    explain: bool = False
    record: bool = True
    record_names: str = "hash"
    record_name_key: str | None = None


@dataclass(frozen=True)
class Loaded:
    """What scoring needs in memory: the model, the policy and its lists, read from the store."""

    store: Store
    scorer: Scorer
    policy: Any
    lists: dict[str, frozenset[str]]
    policy_version: str


def prepare(
    out_uri: str,
    *,
    store_uri: str | None = None,
    model_version: str | None = None,
    overwrite: bool = False,
    **options: Any,
) -> tuple[ScoreSpec, Loaded]:
    """The run's spec (versions resolved, a new run id) and its model, after the output is checked."""
    store = open_store(store_uri)
    loaded = load(store.uri, model_version or artifact.read_pointer(store),
                  policy_store.read_policy_pointer(store))  # fmt: skip
    if _exists(open_store(out_uri), DONE) and not overwrite:
        raise InputError(
            f"{out_uri} already holds a finished run ({DONE}): choose another output or --overwrite"
        )
    run = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + os.urandom(3).hex()
    spec = ScoreSpec(store.uri, loaded.scorer.version, loaded.policy_version, out_uri, run,
                     record_names=os.environ.get(constants.RECORD_NAMES_ENV, "hash"),
                     record_name_key=os.environ.get(constants.RECORD_NAME_KEY_ENV), **options)  # fmt: skip
    return spec, loaded


def load(store_uri: str, model_version: str, policy_version: str) -> Loaded:
    store = open_store(store_uri)
    scorer = Scorer(artifact.load_version(store, model_version))
    policy, _ = policy_store.load_policy(store, policy_version)
    return Loaded(store, scorer, policy, policy_store.read_lists(store, policy.lists), policy_version)


_loaded: dict[tuple[str, str, str], Loaded] = {}
_loading = threading.Lock()


def load_once(spec: ScoreSpec) -> Loaded:
    """`load`, once per process for a given model and policy version (a worker scores many partitions)."""
    key = (spec.store_uri, spec.model_version, spec.policy_version)
    with _loading:
        if key not in _loaded:
            _loaded.clear()  # one model in memory at a time
            _loaded[key] = load(*key)
        return _loaded[key]


def score_files(
    uris: list[str],
    out_uri: str,
    *,
    store_uri: str | None = None,
    model_version: str | None = None,
    id_column: str | None = None,
    out_format: str = "parquet",
    overwrite: bool = False,
    progress: bool = False,
    record: bool = True,
    explain: bool = False,
    s3: S3Reader | None = None,
) -> Summary:
    """Score every file behind `uris` into `out_uri` (a directory or s3:// prefix) here; the run's summary."""
    started = time.perf_counter()
    spec, loaded = prepare(out_uri, store_uri=store_uri, model_version=model_version, overwrite=overwrite,
                           id_column=id_column, out_format=out_format, record=record,
                           explain=explain)  # fmt: skip
    summary = Summary(out_uri, spec.run, spec.model_version, spec.policy_version)
    quarantine = Quarantine()
    with PartWriter(open_store(out_uri), out_format, spec.run) as parts:
        for file in resolve(uris, s3=s3):
            score_file(file, spec, loaded, summary, quarantine, parts, s3=s3, progress=progress)
    return finish(spec, summary, quarantine, started)


def score_file(
    file: DataFile,
    spec: ScoreSpec,
    loaded: Loaded,
    summary: Summary,
    quarantine: Quarantine,
    parts: PartWriter,
    *,
    s3: S3Reader | None = None,
    progress: bool = False,
) -> None:
    """Read, check, score and write one file batch by batch: counts to `summary`, bad rows to `quarantine`.
    Its decision-record chunks are named by `summary.run` (one request id per engine's unit of work)."""
    id_column, policy = spec.id_column, loaded.policy
    names = records.Names(spec.record_names, spec.record_name_key)  # type: ignore[arg-type]
    first_row = 1
    wanted = list(dict.fromkeys([*REQUIRED_REQUEST_FIELDS, *_OPTIONAL, *([id_column] if id_column else [])]))
    for batch in read_batches(file, wanted, s3=s3, progress=progress):
        if first_row == 1:
            check_header(file.uri, file.header, REQUIRED_REQUEST_FIELDS, error=InputError)
            if id_column and id_column not in file.header:
                raise InputError(f"{file.uri} has no {id_column!r} column (--id-column)")
        optional = [name for name in _OPTIONAL if name in file.header
                    and (name not in NAME_COLUMNS or name in policy.variables)]  # fmt: skip
        checked = check_batch(batch, quarantine, source=file.uri, first_row=first_row,
                              required=REQUIRED_REQUEST_FIELDS, optional=optional)  # fmt: skip
        first_row += checked.rows
        summary.rows += checked.rows
        if not len(next(iter(checked.columns.values()))):
            continue
        good = pa.array(checked.good)
        ids = batch.column(id_column).filter(good) if id_column else None
        raw: dict[str, Any] = {
            n: as_text(batch.column(n).filter(good)) for n in NAME_COLUMNS if n in file.header
        }
        table, chunk = score_batch(loaded.scorer, policy, loaded.lists, checked.columns, raw, ids, id_column,
                                   summary, spec.explain, spec.record)  # fmt: skip
        summary.parts.append(parts.submit(table))  # written as the next batch scores
        if chunk is not None:  # as it goes: memory stays bounded by a batch
            _record(loaded.store, names, [chunk], part=len(summary.parts))
    for line, found in file.malformed:
        quarantine.add_malformed(file.uri, line, found)


def finish(spec: ScoreSpec, summary: Summary, quarantine: Quarantine, started: float) -> Summary:
    """Quarantined rows, then `_SUCCESS` last: only now does the output look complete."""
    out = open_store(spec.out_uri)
    summary.quarantined = quarantine.bad
    if quarantine.bad:
        out.write(QUARANTINE_FILE, quarantine.to_csv_gz())
    summary.seconds = time.perf_counter() - started
    out.write(DONE, json.dumps({**asdict(summary), "format": spec.out_format}, indent=2).encode())
    return summary


class PartWriter:
    """Part files named `part-<prefix>-<n>.<format>`, each written on a thread while the next batch scores;
    one in flight at most, so memory stays bounded."""

    def __init__(self, out: Store, out_format: str, prefix: str) -> None:
        self.out, self.out_format, self.prefix = out, out_format, prefix
        self.count = 0
        self._pending: Future[None] | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fraud-score-writer")

    def submit(self, table: pa.Table) -> str:
        if self._pending is not None:
            self._pending.result()
        key = f"part-{self.prefix}-{self.count:05d}.{self.out_format}"
        self.count += 1
        self._pending = self._pool.submit(_write_part, self.out, key, table, self.out_format)
        return key

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._pending is not None:
                self._pending.result()
        finally:
            self._pool.shutdown()


def _write_part(out: Store, key: str, table: pa.Table, out_format: str) -> None:
    buffer = io.BytesIO()
    if out_format == "csv":
        import pyarrow.csv as pacsv

        joined = pa.array([",".join(m) for m in table["matched_rules"].to_pylist()])
        flat = table.set_column(table.schema.get_field_index("matched_rules"), "matched_rules", joined)
        if "reasons" in flat.column_names:  # CSV has no nested values: the reasons as JSON text
            text = pa.array([json.dumps(r) for r in flat["reasons"].to_pylist()])
            flat = flat.set_column(flat.schema.get_field_index("reasons"), "reasons", text)
        pacsv.write_csv(flat, buffer)
    else:
        import pyarrow.parquet as pq

        # dictionaries only where values repeat: on account names they cost 5x the write (measured)
        pq.write_table(table, buffer, compression="snappy", use_dictionary=REPEATING)
    out.write(key, buffer.getvalue())


def _record(store: Store, names: records.Names, chunks: list[records.Chunk], *, part: int) -> None:
    """The scored rows into the decision record, one part a day."""
    import pyarrow.parquet as pq

    days: dict[str, list[records.Chunk]] = {}
    for chunk in chunks:
        days.setdefault(records.partition(chunk.received_at), []).append(chunk)
    for prefix, group in days.items():
        buffer = io.BytesIO()
        pq.write_table(records.to_table(group, names), buffer, compression="zstd")
        store.write(f"{prefix}/part-{group[0].request_id}-{part:05d}.parquet", buffer.getvalue())


def _exists(store: Store, key: str) -> bool:
    try:
        store.read(key)
    except NotFoundError:
        return False
    return True
