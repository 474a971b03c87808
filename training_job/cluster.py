"""Connecting to an existing Dask cluster (`fraud score --cluster`, `fraud train --cluster`): one readable
error when the scheduler cannot be reached, and no lingering Client when it cannot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fraud_model.errors import FraudError

CONNECT_TIMEOUT_SECONDS = 10.0  # how long to try reaching the scheduler before giving up


class ClusterError(FraudError):
    """The Dask cluster could not be reached, or lost the work (a worker died, the scheduler went away)."""

    exit_code = 1


def connect(address: str) -> Any:
    """A `distributed.Client` of the scheduler at `address` (a context manager); ClusterError if not."""
    from distributed import Client

    try:
        reachable(address)
        return Client(address, timeout=CONNECT_TIMEOUT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask cluster at {address}: {exc}") from exc


def reachable(address: str) -> None:
    """A plain TCP connect first: a Client that fails to connect lingers (its finaliser waits to close)."""
    import socket

    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    scheme, location = parse_address(address)
    get_backend(scheme)  # an unknown scheme: ValueError naming the known ones
    if scheme in ("tcp", "tls"):
        with socket.create_connection(parse_host_port(location), timeout=CONNECT_TIMEOUT_SECONDS):
            pass


def absolute(uri: str) -> str:
    """A data or output URI as the workers must see it: local paths not relative to their own working
    directory; s3:// as given (each worker reads it with the project's S3 client: FRAUD_S3_ENDPOINT_URL)."""
    if uri.startswith("s3://"):
        return uri
    return str(Path(uri.removeprefix("file://")).expanduser().resolve())
