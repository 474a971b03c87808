"""`fraud score`: score PaySim-schema files of any size with the API's Scorer and decision policy, streamed
record batch by record batch (bounded memory), into part files.

Each output row carries the input's key columns (and an id column the user names), the probability, the
decision at the model's threshold, the feature set, the versions, the policy's outcome and matched rules.
Rows that fail validation go to `quarantine.csv.gz` with their reasons. Nothing looks complete before it is:
parts are named by run, and `_SUCCESS` (a JSON summary listing them) is written last; a run over an output
that already has one is refused unless `overwrite`.
"""

from __future__ import annotations

import io
import json
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from fraud_model import artifact, constants, policy_store, records
from fraud_model.errors import InputError, NotFoundError
from fraud_model.features import FEATURE_SETS, FULL
from fraud_model.schema import NAME_COLUMNS, REQUIRED_REQUEST_FIELDS, TIME, TRANSACTION_TYPES, TYPE
from fraud_model.scorer import Scorer
from fraud_model.store import Store, open_store
from training_job.dataset import Dataset
from training_job.evaluate import decision_variables, route
from training_job.load import S3Reader, read_batches, resolve
from training_job.validate import Quarantine, check_batch, check_header

DONE = "_SUCCESS"
QUARANTINE_FILE = "quarantine.csv.gz"
_OPTIONAL = tuple(
    dict.fromkeys([*(n for n in FULL.inputs if n not in REQUIRED_REQUEST_FIELDS), TIME, *NAME_COLUMNS])
)
_TYPE_NAMES = np.array([*TRANSACTION_TYPES, None], dtype=object)  # code -1: absent


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

    @property
    def rows_per_second(self) -> float:
        return self.scored / self.seconds if self.seconds else 0.0


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
    """Score every file behind `uris` into `out_uri` (a directory or s3:// prefix); the run's summary."""
    started = time.perf_counter()
    store = open_store(store_uri)
    scorer = Scorer(artifact.load_version(store, model_version or artifact.read_pointer(store)))
    policy_version = policy_store.read_policy_pointer(store)
    policy, _ = policy_store.load_policy(store, policy_version)
    lists = policy_store.read_lists(store, policy.lists)
    out = open_store(out_uri)
    if _exists(out, DONE) and not overwrite:
        raise InputError(
            f"{out_uri} already holds a finished run ({DONE}): choose another output or --overwrite"
        )
    run = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + os.urandom(3).hex()
    summary = Summary(out_uri, run, scorer.version, policy_version)
    quarantine = Quarantine()
    names = records.Names(os.environ.get(constants.RECORD_NAMES_ENV, "hash"),  # type: ignore[arg-type]
                          os.environ.get(constants.RECORD_NAME_KEY_ENV))  # fmt: skip
    pending: Future[None] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fraud-score-writer") as writer:
        for file in resolve(uris, s3=s3):
            first_row = 1
            wanted = list(
                dict.fromkeys([*REQUIRED_REQUEST_FIELDS, *_OPTIONAL, *([id_column] if id_column else [])])
            )
            for batch in read_batches(file, wanted, s3=s3, progress=progress):
                if first_row == 1:
                    check_header(file.uri, file.header, REQUIRED_REQUEST_FIELDS)
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
                    n: _text(batch.column(n).filter(good)) for n in NAME_COLUMNS if n in file.header
                }
                scored = _score(
                    scorer, policy, lists, checked.columns, raw, ids, id_column, summary, explain, record
                )
                table, chunk = scored
                if pending is not None:  # one part in flight at most: memory stays bounded
                    pending.result()
                key = f"part-{summary.run}-{len(summary.parts):05d}.{out_format}"
                summary.parts.append(key)
                pending = writer.submit(_write_part, out, key, table, out_format)  # as the next batch scores
                if chunk is not None:  # as it goes: memory stays bounded by a batch
                    _record(store, names, [chunk], part=len(summary.parts))
            for line, found in file.malformed:
                quarantine.add_malformed(file.uri, line, found)
        if pending is not None:
            pending.result()
    summary.quarantined = quarantine.bad
    if quarantine.bad:
        out.write(QUARANTINE_FILE, quarantine.to_csv_gz())
    summary.seconds = time.perf_counter() - started
    out.write(DONE, json.dumps({**asdict(summary), "format": out_format}, indent=2).encode())  # last: done
    return summary


def _score(
    scorer: Scorer,
    policy: Any,
    lists: dict[str, frozenset[str]],
    columns: dict[str, np.ndarray],
    names: dict[str, pa.Array],
    ids: Any,
    id_column: str | None,
    summary: Summary,
    explain: bool,
    record: bool,
) -> tuple[pa.Table, records.Chunk | None]:
    rows = len(next(iter(columns.values())))
    dataset = Dataset(columns, np.zeros(rows, dtype=np.int16))
    routed = route(scorer, dataset, each=False)
    verdicts = routed.verdicts()
    if policy.verdict_only is None:
        wanted = policy.variables | {"is_fraud"}
        decided = policy.decide_columns(decision_variables(dataset, slice(0, rows), verdicts, wanted), lists)
    else:  # the default policy: its columns straight from the model's verdicts (see _decisions)
        decided = None
    types = _TYPE_NAMES[columns[TYPE]] if TYPE in columns else np.full(rows, None, dtype=object)
    absent = np.full(rows, None, dtype=object)
    out: dict[str, Any] = {} if ids is None or id_column is None else {id_column: ids.cast(pa.string())}
    step = columns.get(TIME)
    steps = pa.nulls(rows, pa.int64()) if step is None else pa.array(step, from_pandas=True).cast(pa.int64())
    out.update({
        TIME: steps,
        TYPE: pa.array(types, pa.string()),
        "amount": pa.array(columns["amount"]),
        "nameOrig": names.get("nameOrig", pa.nulls(rows, pa.string())),
        "nameDest": names.get("nameDest", pa.nulls(rows, pa.string())),
        "fraud_probability": pa.array(verdicts.fraud_probability),
        "is_fraud": pa.array(verdicts.is_fraud),
        "threshold": pa.array(verdicts.threshold),
        "feature_set": pa.array(verdicts.feature_set, pa.string()),
        "model_version": pa.repeat(pa.scalar(scorer.version), rows),
        **_decisions(policy, verdicts.is_fraud, decided),
        "policy_version": pa.repeat(pa.scalar(summary.policy_version), rows),
    })  # fmt: skip
    if explain:
        out["reasons"] = _reasons(scorer, routed, columns)
    summary.scored += rows
    summary.flagged += int(verdicts.is_fraud.sum())
    for entry in out["outcome"].value_counts().to_pylist():
        summary.outcomes[entry["values"]] = summary.outcomes.get(entry["values"], 0) + entry["counts"]
    chunk = None
    if record:  # (a record costs more than a row)
        fields: dict[str, Any] = {name: columns.get(name, absent) for name in records.TRANSACTION_FIELDS}
        fields.update({name: values.to_pylist() for name, values in names.items()})
        fields[TYPE] = types
        chunk = records.Chunk(f"score-{summary.run}", "score", records.now(), scorer.version,
                              summary.policy_version, fields, verdicts.fraud_probability, verdicts.threshold,
                              verdicts.is_fraud, verdicts.feature_set, out["outcome"].to_pylist(),
                              out["matched_rules"].to_pylist(), first_item=summary.scored - rows)  # fmt: skip
    return pa.table(out), chunk


def _decisions(policy: Any, is_fraud: np.ndarray, decided: Any) -> dict[str, pa.Array]:
    """The outcome and matched rules columns; the default policy's without a Python object a row."""
    verdict = policy.verdict_only
    if decided is not None:  # a policy of rules: decided row by row
        return {"outcome": pa.array(decided.outcome, pa.string()),
                "matched_rules": pa.array(decided.matched, pa.list_(pa.string()))}  # fmt: skip
    rule, fraud, otherwise = verdict
    outcome = pa.DictionaryArray.from_arrays(pa.array(is_fraud.astype(np.int8)), pa.array([otherwise, fraud]))
    offsets = np.concatenate([[0], np.cumsum(is_fraud, dtype=np.int32)])
    matched = pa.ListArray.from_arrays(pa.array(offsets), pa.repeat(pa.scalar(rule), int(is_fraud.sum())))
    return {"outcome": outcome.cast(pa.string()), "matched_rules": matched}


def _text(values: pa.Array) -> pa.Array:
    return values if pa.types.is_string(values.type) else values.cast(pa.string())


_REPEATING = [TYPE, "feature_set", "model_version", "outcome", "policy_version"]
_REASON = pa.struct([("feature", pa.string()), ("value", pa.float64()), ("contribution", pa.float64())])


def _reasons(scorer: Scorer, routed: Any, columns: dict[str, np.ndarray], top: int = 3) -> pa.Array:
    """Each row's top features by TreeSHAP contribution, from the model that scored it (as ?explain=true)."""
    reasons: list[Any] = [None] * len(routed.feature_set)
    for code, name in enumerate(routed.names):
        rows = np.flatnonzero(routed.feature_set == code)
        if rows.size == 0:
            continue
        inputs = {column: columns[column][rows] for column in FEATURE_SETS[name].inputs}
        for row, contributions in zip(rows.tolist(), scorer.explain_many(name, inputs, top=top), strict=True):
            reasons[row] = [{"feature": c.feature, "value": c.value if np.isfinite(c.value) else None,
                             "contribution": c.contribution} for c in contributions]  # fmt: skip
    return pa.array(reasons, pa.list_(_REASON))


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
        pq.write_table(table, buffer, compression="snappy", use_dictionary=_REPEATING)
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
