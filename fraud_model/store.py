"""The model store: a local directory or an `s3://bucket[/prefix]` URI, behind one small interface."""

from __future__ import annotations

import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from fraud_model import constants
from fraud_model.errors import NotFoundError, StoreError


class Store(Protocol):
    """Keys are `/`-separated paths relative to the store root."""

    uri: str

    def read(self, key: str) -> bytes: ...

    def write(self, key: str, data: bytes) -> None: ...

    def list(self, prefix: str) -> list[str]: ...

    def delete(self, key: str) -> None: ...


def s3_client() -> Any:
    """A boto3 S3 client honouring `FRAUD_S3_ENDPOINT_URL` (boto3 imported lazily: local stores skip it)."""
    import boto3

    return boto3.client("s3", endpoint_url=os.environ.get(constants.S3_ENDPOINT_URL_ENV) or None)


class LocalStore:
    """A directory; writes are atomic (temporary file, then rename) so readers never see half a file."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        self.uri = str(self.root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise StoreError(f"key {key!r} escapes the store root")
        return path

    def read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise NotFoundError(f"{key} not found in {self.uri}") from exc
        except OSError as exc:
            raise StoreError(f"cannot read {key} from {self.uri}: {exc}") from exc

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            # mkstemp makes the file private (0600); a published file gets what open() would give it, so
            # that a server running as another user (a container, a service account) can read the store.
            os.fchmod(fd, 0o666 & ~_umask())
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            raise StoreError(f"cannot write {key} to {self.uri}: {exc}") from exc

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if not base.is_dir():
            return []
        return sorted(
            str(p.relative_to(self.root))
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Store:
    """An S3 bucket and optional prefix; the boto3 client is created on first use (or injected)."""

    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = s3_client()
        return self._client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def read(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
            return body
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in {"NoSuchKey", "404", "NotFound"}:
                raise NotFoundError(f"{key} not found in {self.uri}") from exc
            if code in {"AccessDenied", "403"}:
                # S3 answers 403, not 404, for a missing key when the caller may not list that prefix.
                raise StoreError(f"access denied reading {key} from {self.uri} (or it is missing)") from exc
            raise StoreError(f"cannot read {key} from {self.uri}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"cannot read {key} from {self.uri}: {exc}") from exc

    def write(self, key: str, data: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except (BotoCoreError, ClientError) as exc:
            raise StoreError(f"cannot write {key} to {self.uri}: {exc}") from exc

    def list(self, prefix: str) -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        full = self._key(prefix)
        strip = len(self.prefix) + 1 if self.prefix else 0
        keys: list[str] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full
            ):
                keys.extend(item["Key"][strip:] for item in page.get("Contents", []))
        except (BotoCoreError, ClientError) as exc:
            raise StoreError(f"cannot list {prefix} in {self.uri}: {exc}") from exc
        return sorted(keys)

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise StoreError(f"cannot delete {key} from {self.uri}: {exc}") from exc


def open_store(uri: str | None = None, *, s3_client: Any = None) -> Store:
    """The store at `uri`, else `$FRAUD_MODEL_STORE`, else the embedded local default."""
    uri = uri or os.environ.get(constants.MODEL_STORE_ENV) or constants.default_store_uri()
    if uri.startswith("s3://"):
        bucket, _, prefix = uri[len("s3://") :].partition("/")
        if not bucket:
            raise StoreError(f"store URI {uri!r} has no bucket")
        return S3Store(bucket, prefix, client=s3_client)
    if "://" in uri and not uri.startswith("file://"):
        raise StoreError(f"unsupported store URI {uri!r}: use a directory or s3://bucket[/prefix]")
    return LocalStore(uri.removeprefix("file://"))


@cache
def _umask() -> int:
    """The process's umask (only readable by setting it, so read once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
