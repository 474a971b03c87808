"""Domain errors of the model contract; each carries the HTTP status and exit code it maps to."""

from __future__ import annotations


class FraudError(Exception):
    """Base of every error this system raises on purpose."""

    http_status = 500
    exit_code = 1


class StoreError(FraudError):
    """The model store could not be read or written (I/O, permissions, S3 errors)."""

    http_status = 503


class NotFoundError(StoreError):
    """A key, version or pointer does not exist in the store."""

    http_status = 404


class ArtifactError(FraudError):
    """A model version is incomplete, tampered with, or of an incompatible schema version."""

    http_status = 503


class InputError(FraudError):
    """Input data or a request does not follow the transaction schema."""

    http_status = 422
    exit_code = 2
