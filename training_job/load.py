"""Load PaySim-schema files (CSV, CSV.gz, Parquet; local or `s3://` file or prefix) as record batch streams.

CSV is streamed block by block with every wanted column read as text, so a stray "abc" becomes a quarantined
row in `validate`, never a crashed reader; columns nobody needs (account names) are never parsed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from tqdm import tqdm

from fraud_model.errors import InputError
from fraud_model.store import s3_client

log = logging.getLogger(__name__)

SUFFIXES = (".csv", ".csv.gz", ".parquet")
_BLOCK_SIZE = 8 << 20  # CSV bytes per batch: ~80k rows, a few MB of arrays at a time
_PARQUET_BATCH_ROWS = 131_072


@dataclass
class DataFile:
    """One input file; `sha256`, `header` and `malformed` are filled in while it is read."""

    uri: str
    size: int
    etag: str | None = None
    sha256: str | None = None
    header: list[str] = field(default_factory=list)
    malformed: list[tuple[int | None, int]] = field(default_factory=list)  # (line, columns found)

    @property
    def kind(self) -> str:
        return "parquet" if self.uri.lower().endswith(".parquet") else "csv"

    @property
    def gzip(self) -> bool:
        return self.uri.lower().endswith(".gz")

    def fingerprint(self) -> dict[str, Any]:
        return {"uri": self.uri, "bytes": self.size, "sha256": self.sha256, "etag": self.etag}


class S3Reader:
    """boto3 access to data files; the client is created on first use (or injected), as in the store."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = s3_client()
        return self._client

    def list(self, uri: str) -> list[DataFile]:
        """The object itself when `uri` names one, else every data file under the prefix `uri/`."""
        bucket, key = _split_s3(uri)
        found: dict[str, DataFile] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        for page in _s3_call(uri, lambda: list(paginator.paginate(Bucket=bucket, Prefix=key))):
            for item in page.get("Contents", []):
                found[item["Key"]] = DataFile(
                    f"s3://{bucket}/{item['Key']}", item["Size"], item["ETag"].strip('"')
                )
        if key in found:
            return [found[key]]
        folder = key.rstrip("/") + "/" if key else ""
        return [f for k, f in sorted(found.items()) if k.startswith(folder) and k.lower().endswith(SUFFIXES)]

    def open(self, uri: str) -> Any:
        bucket, key = _split_s3(uri)
        return _s3_call(uri, lambda: self.client.get_object(Bucket=bucket, Key=key)["Body"])


def resolve(uris: Sequence[str], *, s3: S3Reader | None = None) -> list[DataFile]:
    """Expand URIs (files, directories, s3 prefixes) into data files, in a stable order."""
    files: list[DataFile] = []
    for uri in uris:
        if uri.startswith("s3://"):
            found = (s3 or S3Reader()).list(uri)
        else:
            found = _local_files(Path(uri.removeprefix("file://")).expanduser())
        if not found:
            raise InputError(f"no data files ({', '.join(SUFFIXES)}) at {uri}")
        files.extend(found)
    return files


def read_batches(
    file: DataFile, wanted: Sequence[str], *, s3: S3Reader | None = None, progress: bool = False
) -> Iterator[pa.RecordBatch]:
    """Record batches of the `wanted` columns the file has (CSV: as text; Parquet: as stored)."""
    log.info("reading %s (%d bytes)", file.uri, file.size)
    s3 = s3 or S3Reader()
    with tqdm(
        total=file.size,
        unit="B",
        unit_scale=True,
        desc=_short(file.uri),
        disable=not progress,
        mininterval=1.0,
    ) as bar:
        if file.kind == "parquet":
            yield from _parquet_batches(file, wanted, s3, bar)
        else:
            yield from _csv_batches(file, wanted, s3, bar)


def _csv_batches(file: DataFile, wanted: Sequence[str], s3: S3Reader, bar: tqdm) -> Iterator[pa.RecordBatch]:
    file.header = _csv_header(file, s3)
    present = [name for name in wanted if name in file.header]
    if not present:  # include_columns=[] would mean "every column": leave the verdict to the header check
        return
    tap = _Tap(_open_raw(file, s3), bar)
    stream: Any = pa.PythonFile(tap, mode="r")
    if file.gzip:
        stream = pa.CompressedInputStream(stream, "gzip")

    def on_invalid(row: Any) -> str:
        file.malformed.append((row.number, row.actual_columns))
        return "skip"

    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=_BLOCK_SIZE),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                include_columns=present,
                column_types=dict.fromkeys(present, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
        yield from reader
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"cannot read {file.uri} as CSV: {exc}") from exc
    finally:
        tap.drain()
        file.sha256 = tap.hexdigest()


def _parquet_batches(
    file: DataFile, wanted: Sequence[str], s3: S3Reader, bar: tqdm
) -> Iterator[pa.RecordBatch]:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(file.uri.removeprefix("file://"))
        if file.uri.startswith("s3://"):  # Parquet needs seeks: download first, hashing on the way
            path = Path(scratch) / "data.parquet"
            with path.open("wb") as out:
                tap = _Tap(s3.open(file.uri), bar)
                while chunk := tap.read(1 << 20):
                    out.write(chunk)
            file.sha256 = tap.hexdigest()
        else:
            file.sha256 = _hash_file(path, bar)
        try:
            # pre_buffer would keep every row group's bytes cached until the file is closed: memory that grows
            # with the file (measured: +40 MB a million rows), not with the batch
            parquet = pq.ParquetFile(path, pre_buffer=False)
            file.header = list(parquet.schema_arrow.names)
            present = [name for name in wanted if name in file.header]
            yield from parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS, columns=present)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"cannot read {file.uri} as Parquet: {exc}") from exc


def _csv_header(file: DataFile, s3: S3Reader) -> list[str]:
    """The header row alone (a separate short read), so only the wanted columns are ever parsed."""
    raw = _open_raw(file, s3)
    try:
        stream: Any = pa.PythonFile(raw, mode="r")
        if file.gzip:
            stream = pa.CompressedInputStream(stream, "gzip")
        head = b""
        while b"\n" not in head and len(head) < (1 << 20):
            chunk = stream.read(65_536)
            if not chunk:
                break
            head += chunk
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"cannot read {file.uri}: {exc}") from exc
    finally:
        raw.close()
    line = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").strip("\r")
    return next(csv.reader([line]), [])


def _open_raw(file: DataFile, s3: S3Reader) -> Any:
    if file.uri.startswith("s3://"):
        return s3.open(file.uri)
    try:
        return Path(file.uri.removeprefix("file://")).open("rb")
    except OSError as exc:
        raise InputError(f"cannot open {file.uri}: {exc}") from exc


class _Tap(io.RawIOBase):
    """Passes bytes through while hashing them and advancing a progress bar."""

    def __init__(self, raw: Any, bar: tqdm) -> None:
        self._raw, self._bar, self._hash = raw, bar, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._raw.read(size) if size is not None and size >= 0 else self._raw.read()
        self._hash.update(data)
        self._bar.update(len(data))
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        """Hash whatever the parser did not read (trailing bytes), then close the source."""
        while self.read(1 << 20):
            pass
        self._raw.close()

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _hash_file(path: Path, bar: tqdm) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                bar.update(len(chunk))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    return digest.hexdigest()


def _local_files(path: Path) -> list[DataFile]:
    if path.is_dir():
        paths = sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(SUFFIXES))
    elif path.is_file():
        if not path.name.lower().endswith(SUFFIXES):
            raise InputError(f"{path}: unsupported file type (use {', '.join(SUFFIXES)})")
        paths = [path]
    else:
        raise InputError(f"data file {path} does not exist")
    return [DataFile(str(p), p.stat().st_size) for p in paths]


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise InputError(f"data URI {uri!r} has no bucket")
    return bucket, key


def _s3_call(uri: str, call: Any) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call()
    except (BotoCoreError, ClientError) as exc:
        raise InputError(f"cannot read {uri}: {exc}") from exc


def _short(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1][:40]
