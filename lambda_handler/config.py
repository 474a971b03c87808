"""Serving settings, read from `FRAUD_*` environment variables once per process."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from fraud_model import constants


class Settings(BaseSettings):
    """Everything the inference function reads from its environment (infra tests check the Lambda sets it)."""

    model_config = SettingsConfigDict(
        env_prefix=constants.ENV_PREFIX, extra="ignore", frozen=True, protected_namespaces=()
    )

    model_store: str = Field(default_factory=constants.default_store_uri)
    model_version: str | None = None
    pointer_ttl_seconds: float = Field(default=constants.DEFAULT_POINTER_TTL_SECONDS, ge=0)
    # At most 10,000: an answer of ~150 bytes a prediction stays far below Lambda's 6 MB response limit.
    max_batch_size: int = Field(
        default=constants.DEFAULT_MAX_BATCH_SIZE, ge=1, le=constants.MAX_BATCH_SIZE_LIMIT
    )
    max_body_bytes: int = Field(default=constants.DEFAULT_MAX_BODY_BYTES, ge=1024)
    # `fraud serve`: a request body that has not all arrived after this long is answered 408.
    body_timeout_seconds: float = Field(default=10.0, gt=0)
    s3_endpoint_url: str | None = None
    # With no model serving, the most often a failed load is retried (a good model is kept past failures).
    load_retry_seconds: float = Field(default=constants.DEFAULT_LOAD_RETRY_SECONDS, ge=0)
    # The header API Gateway checks for an API key (`x-api-key`), when it does: /openapi.json declares it, so
    # /docs offers "Authorize" and sends it. The function itself never checks it: API Gateway does.
    api_key_header: str | None = Field(default=None, min_length=1)
    # Decision records: `store` (Parquet under records/ in the model store), `log` (a JSON line a request on
    # stdout: Lambda's), `off`; unset: `log` on Lambda, else `store`.
    records: Literal["store", "log", "off"] | None = None
    records_flush_seconds: float = Field(default=2.0, gt=0)
    # `store` records: the most rows kept in memory while the store refuses them (~1.4 KB a row, measured);
    # beyond, the oldest are given up, counted and logged
    records_max_waiting_rows: int = Field(default=100_000, ge=1_000)
    # `log` records on Lambda: written after the answer by an internal extension (false: before answering)
    records_after_response: bool = True
    # Account names in records: keyed hashes (BLAKE2b-128 keyed with this secret; without a key they are left
    # out), `plain`, or `omit`.
    record_names: Literal["hash", "plain", "omit"] = "hash"
    record_name_key: SecretStr | None = Field(default=None, min_length=16)
    # ... or the AWS Secrets Manager secret (ARN or name) whose string is that key: read once per process
    record_name_key_secret: str | None = Field(default=None, min_length=1)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
