"""A `fraud score --remote` request: a JSON file the client leaves at `jobs/score.json` in the stack's store.

The training container's entry point takes it (reads, deletes, checks it) and scores instead of training;
without one it trains. No value of the request ever reaches a shell: the instance's run script is unchanged,
and the request is data that pydantic checks here, on both sides. The URIs must lie under the prefixes the
instance role may read (`data/`, `score-input/`) and write (`scores/<name>`): IAM enforces that, this says it.
"""

from __future__ import annotations

import sys
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fraud_model.errors import FraudError, InputError
from fraud_model.store import open_store

JOB_KEY = "jobs/score.json"
INPUT_PREFIXES = ("data/", "score-input/")
OUTPUT_PREFIX = "scores/"
QUARANTINED_EXIT = 3  # as `fraud score`: finished, but some rows could not be scored


class ScoreRequest(BaseModel):
    """What `fraud score --remote` asks the instance to run (`fraud score`'s options, as data)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: list[str] = Field(min_length=1, max_length=1000)
    out: str
    model: str | None = None
    id_column: str | None = Field(default=None, min_length=1, max_length=200)
    format: Literal["parquet", "csv"] = "parquet"
    explain: bool = False
    overwrite: bool = False

    def check_bucket(self, bucket: str) -> None:
        """Every input under `data/` or `score-input/`, the output under `scores/<name>`, of `bucket`."""
        inputs = tuple(f"s3://{bucket}/{prefix}" for prefix in INPUT_PREFIXES)
        for uri in self.data:
            if not uri.startswith(inputs):
                raise InputError(
                    f"--data {uri}: a remote score reads only {' or '.join(p + '...' for p in inputs)} "
                    "(the training instance may read nothing else); upload the files there first"
                )
        output = f"s3://{bucket}/{OUTPUT_PREFIX}"
        if not self.out.startswith(output) or not self.out.removeprefix(output).strip("/"):
            raise InputError(
                f"--out {self.out}: a remote score writes only under {output}<name>/ "
                "(the training instance may write nothing else)"
            )


def take(job_uri: str) -> ScoreRequest | None:
    """The request waiting at `job_uri` (s3://bucket/jobs/score.json), deleted as it is read; None if none."""
    bucket, _, key = job_uri.removeprefix("s3://").partition("/")
    store = open_store(f"s3://{bucket}")
    if key not in store.list(key):  # listed first: a missing key may only be listed, not read
        return None
    raw = store.read(key)
    store.delete(key)  # before the run: a request runs once, whatever happens to the run
    try:
        request = ScoreRequest.model_validate_json(raw)
    except ValidationError as exc:
        raise InputError(f"the score request {job_uri} is not valid: {exc.errors()[0]['msg']}") from exc
    request.check_bucket(bucket)
    return request


def run_pending(job_uri: str, store_uri: str | None) -> int | None:
    """On the instance: run the waiting request, if any, and return its exit status (None: none waits)."""
    try:
        request = take(job_uri)
        if request is None:
            return None
        from training_job.score import QUARANTINE_FILE, score_files

        print(f"fraud-score-job: scoring {', '.join(request.data)} into {request.out}", flush=True)
        summary = score_files(request.data, request.out, store_uri=store_uri, model_version=request.model,
                              id_column=request.id_column, out_format=request.format,
                              overwrite=request.overwrite, record=False, explain=request.explain)  # fmt: skip
    except FraudError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(summary.line(), flush=True)
    if summary.quarantined:
        print(f"{summary.quarantined:,} rows quarantined: {request.out.rstrip('/')}/{QUARANTINE_FILE}")
        return QUARANTINED_EXIT
    return 0
